//! Failed credential checks, counted in the database (`login_throttle`) per client address and login (or
//! uid), so every replica on the database sees the same count: N replicas do not give an attacker N times
//! the guesses. The key is a SHA-256 of the address and the name; nothing readable is stored.
//!
//! An attempt that is about to hash a secret first takes a place in the count (`reserve`, one atomic
//! upsert), and gives it back when the secret matched (`release`): guesses sent in parallel, to one replica
//! or to several, are counted before any of them is checked, so at most `MAX_FAILURES` are ever hashed per
//! window, however many replicas and connections carry them.

use std::net::IpAddr;

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::login_throttle;
use crate::db::AnyConnection;
use crate::error::Result;
use crate::orm::sql::{Sql, SqlValue};

/// Failed checks allowed per key within `WINDOW_SECS` before further attempts are refused unchecked.
pub const MAX_FAILURES: i64 = 10;
/// A key's window starts at its first failure; once it is over the count starts again from zero.
pub const WINDOW_SECS: i64 = 60;

/// One counter: a client address (its per-address limit key) and the login or `uid:N` it tried.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    pub fn new(client: IpAddr, who: &str) -> ThrottleKey {
        let mut h = Sha256::new();
        h.update(client.to_string().as_bytes());
        h.update([0u8]);
        h.update(who.as_bytes());
        ThrottleKey(hex::encode(h.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Whether the key has used up its failures in the current window.
pub fn throttled(conn: &mut AnyConnection, key: &ThrottleKey, now: i64) -> Result<bool> {
    let row = login_throttle::table
        .filter(login_throttle::key_hash.eq(key.as_str()))
        .select((login_throttle::failures, login_throttle::window_start))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .next();
    Ok(row.is_some_and(|(failures, start)| failures >= MAX_FAILURES && start > now - WINDOW_SECS))
}

/// Counts one attempt against the key (a new window when the last one is over); false when it is one
/// too many, and the secret must not be checked.
pub fn reserve(conn: &mut AnyConnection, key: &ThrottleKey, now: i64) -> Result<bool> {
    let expired = now - WINDOW_SECS;
    let mut sql = Sql::new(conn.backend());
    sql.push("INSERT INTO login_throttle (key_hash, failures, window_start) VALUES (");
    sql.bind(SqlValue::Text(key.as_str().to_string()));
    sql.push(", 1, ");
    sql.bind(SqlValue::Int(now));
    sql.push(") ON CONFLICT (key_hash) DO UPDATE SET failures = CASE WHEN login_throttle.window_start <= ");
    sql.bind(SqlValue::Int(expired));
    sql.push(" THEN 1 ELSE login_throttle.failures + 1 END, window_start = CASE WHEN login_throttle.window_start <= ");
    sql.bind(SqlValue::Int(expired));
    sql.push(" THEN ");
    sql.bind(SqlValue::Int(now));
    sql.push(" ELSE login_throttle.window_start END RETURNING failures AS n");
    Ok(sql.load_count(conn)? <= MAX_FAILURES)
}

/// Gives back the place `reserve` took: the secret matched.
pub fn release(conn: &mut AnyConnection, key: &ThrottleKey) -> Result<()> {
    diesel::update(login_throttle::table.filter(login_throttle::key_hash.eq(key.as_str())))
        .filter(login_throttle::failures.gt(0))
        .set(login_throttle::failures.eq(login_throttle::failures - 1))
        .execute(conn)?;
    Ok(())
}

/// Deletes counters whose window is over (they count as zero already).
pub fn forget_expired(conn: &mut AnyConnection, now: i64) -> Result<usize> {
    Ok(diesel::delete(login_throttle::table.filter(login_throttle::window_start.le(now - WINDOW_SECS)))
        .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(name: &str) -> (std::path::PathBuf, crate::db::DbPool) {
        let dir = std::env::temp_dir().join(format!("bankbridge-throttle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned());
        (dir, crate::db::connect(&url, 2).unwrap())
    }

    #[test]
    fn reservations_count_atomically_and_successes_give_theirs_back() {
        let (dir, pool) = database("count");
        let mut conn = pool.get().unwrap();
        let key = ThrottleKey::new("192.0.2.1".parse().unwrap(), "erin");
        let other = ThrottleKey::new("192.0.2.2".parse().unwrap(), "erin");
        let now = 1_000_000;
        for _ in 0..MAX_FAILURES {
            assert!(reserve(&mut conn, &key, now).unwrap());
        }
        assert!(throttled(&mut conn, &key, now).unwrap());
        assert!(!reserve(&mut conn, &key, now + 1).unwrap(), "one too many");
        // Another address is its own counter.
        assert!(!throttled(&mut conn, &other, now).unwrap() && reserve(&mut conn, &other, now).unwrap());
        // A success gives its place back.
        release(&mut conn, &other).unwrap();
        assert!(!throttled(&mut conn, &other, now).unwrap());
        // The window ends WINDOW_SECS after the first failure; the next attempt starts a new one.
        assert!(!throttled(&mut conn, &key, now + WINDOW_SECS).unwrap());
        assert!(reserve(&mut conn, &key, now + WINDOW_SECS).unwrap());
        assert!(!throttled(&mut conn, &key, now + WINDOW_SECS).unwrap());
        assert_eq!(forget_expired(&mut conn, now + 2 * WINDOW_SECS).unwrap(), 2);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
