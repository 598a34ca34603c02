//! A bound on how much SQLite work one piece of code may do: SQLite calls a progress handler every
//! `STEPS_PER_TICK` virtual-machine instructions, and the handler interrupts the running statement once
//! the budget set for the calling thread is spent, and every later statement of that work too. Outside
//! `run_within` nothing is bounded.
//!
//! The handler is installed on every SQLite connection the process opens (an auto-extension registered
//! before the first one), so no connection needs its raw handle, which diesel does not expose.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

use libsqlite3_sys as ffi;

/// SQLite's granularity: the handler runs about once per this many VM instructions.
const STEPS_PER_TICK: c_int = 1000;

#[derive(Clone, Copy)]
enum Budget {
    Unbounded,
    Ticks(u32),
    Spent,
}

thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget::Unbounded) };
}

/// Registers the progress handler for every SQLite connection opened from now on. Called once, before
/// the process opens its first SQLite connection (`sqlite_process_setup`).
pub(super) fn install() {
    // SAFETY: `on_open` has the entry-point signature SQLite calls auto-extensions with, and it stays valid
    // for the life of the process.
    let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
    if rc == ffi::SQLITE_OK {
        INSTALLED.store(true, Ordering::Release);
    } else {
        tracing::warn!(rc, "SQLite step budgets are not available: every read runs on the blocking pool");
    }
}

/// Whether connections opened from now on have the handler: without it no budget holds.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite passes the connection being opened; the handler keeps no pointer to it.
    unsafe { ffi::sqlite3_progress_handler(db, STEPS_PER_TICK, Some(on_progress), std::ptr::null_mut()) };
    ffi::SQLITE_OK
}

/// Non-zero interrupts the running statement (it fails with SQLITE_INTERRUPT).
unsafe extern "C" fn on_progress(_arg: *mut c_void) -> c_int {
    BUDGET.with(|budget| match budget.get() {
        Budget::Unbounded => 0,
        // Each call means another `STEPS_PER_TICK` steps were taken.
        Budget::Ticks(0 | 1) | Budget::Spent => {
            budget.set(Budget::Spent);
            1
        }
        Budget::Ticks(left) => {
            budget.set(Budget::Ticks(left - 1));
            0
        }
    })
}

/// Runs `work` on this thread with at most about `steps` SQLite VM instructions over all its statements.
/// The statement that goes past them fails (SQLITE_INTERRUPT), as does any later one; inside `work`,
/// `spent` tells whether an error it got says nothing about the work but that the budget ran out.
pub fn run_within<T>(steps: u32, work: impl FnOnce() -> T) -> T {
    struct Restore(Budget);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|budget| budget.set(self.0));
        }
    }
    let ticks = steps.div_ceil(STEPS_PER_TICK as u32);
    let _restore = Restore(BUDGET.with(|budget| budget.replace(Budget::Ticks(ticks))));
    work()
}

/// Whether the budget of the `run_within` this thread runs in has run out.
pub fn spent() -> bool {
    matches!(BUDGET.with(Cell::get), Budget::Spent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, DatabaseUrl};
    use diesel::prelude::*;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    #[test]
    fn a_budget_interrupts_only_the_work_it_bounds() {
        let dir = std::env::temp_dir().join(format!("bankbridge-step-budget-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = DatabaseUrl::Sqlite(dir.join("steps.db").to_string_lossy().into_owned());
        let pool = db::connect(&url, 1).expect("database");
        let mut conn = pool.get().expect("connection");
        // 100,000 rows counted: several hundred thousand VM steps.
        let mut count = || {
            diesel::sql_query(
                "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000) SELECT COUNT(*) AS n FROM r",
            )
            .get_result::<Count>(&mut conn)
            .map(|row| row.n)
        };
        let (over, spent_then) = run_within(5_000, || (count(), spent()));
        assert!(over.is_err() && spent_then, "{over:?}");
        assert!(matches!(run_within(10_000_000, || (count(), spent())), (Ok(100_000), false)));
        // Outside a budget, and after one was spent, nothing is bounded.
        assert!(!spent());
        assert_eq!(count().expect("unbounded"), 100_000);
        let nested = run_within(5_000, || run_within(10_000_000, || (count(), spent())));
        assert!(matches!(nested, (Ok(100_000), false)), "the inner budget is the one that holds");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
