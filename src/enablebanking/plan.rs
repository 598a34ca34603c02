//! When the bridge may read a session's accounts without the user.
//!
//! PSD2's rules for account information (RTS, art. 36(5)) let a bank limit reads the user did not ask
//! for in person to four per account in 24 hours; Enable Banking passes the bank's refusal on as
//! `ASPSP_RATE_LIMIT_EXCEEDED`. Banks count differently (per endpoint, per account, per consent) and the
//! reference does not say how; the bridge plans for the strictest count: every read of an account —
//! details, balances, transactions (a read's further pages are one read) — against one budget of four.
//!
//! The plan: a fetch reads each account's transactions once, no sooner than [`FETCH_SPACING`] after the
//! previous fetch, and its balances only when the last balances read is [`BALANCES_SPACING`] old; the
//! accounts' details come with the session and are never read unattended. Fetches [`FETCH_SPACING`]
//! apart fit at most three in any 24 hours, balances reads at most one: four reads.

use chrono::{DateTime, Duration as ChronoDuration, Utc};

/// Least time between two fetches (eight hours and a margin for clocks that differ).
pub const FETCH_SPACING: ChronoDuration = ChronoDuration::minutes(8 * 60 + 5);
/// Least time between two balances reads (a day and the same margin).
pub const BALANCES_SPACING: ChronoDuration = ChronoDuration::minutes(24 * 60 + 5);

/// What one fetch reads of each account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedReads {
    pub transactions: bool,
    pub balances: bool,
}

/// What a fetch at `now` may read, given the last fetch and the last balances read; `Err(at)` when the
/// next fetch is allowed only at `at`.
pub fn plan(
    now: DateTime<Utc>,
    last_fetch: Option<DateTime<Utc>>,
    last_balances: Option<DateTime<Utc>>,
) -> Result<PlannedReads, DateTime<Utc>> {
    if let Some(last) = last_fetch {
        let next = last + FETCH_SPACING;
        if now < next {
            return Err(next);
        }
    }
    let balances = last_balances.is_none_or(|last| now >= last + BALANCES_SPACING);
    Ok(PlannedReads { transactions: true, balances })
}

/// When the fetch after one made at `at` is allowed.
pub fn next_fetch_after(at: DateTime<Utc>) -> DateTime<Utc> {
    at + FETCH_SPACING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_are_spaced_and_balances_read_once_a_day() {
        let t0 = Utc::now();
        assert_eq!(plan(t0, None, None), Ok(PlannedReads { transactions: true, balances: true }));
        assert_eq!(plan(t0 + ChronoDuration::hours(1), Some(t0), Some(t0)), Err(t0 + FETCH_SPACING));
        assert_eq!(
            plan(t0 + FETCH_SPACING, Some(t0), Some(t0)),
            Ok(PlannedReads { transactions: true, balances: false })
        );
        assert_eq!(
            plan(t0 + BALANCES_SPACING, Some(t0 + FETCH_SPACING), Some(t0)),
            Ok(PlannedReads { transactions: true, balances: true })
        );
        assert_eq!(next_fetch_after(t0), t0 + FETCH_SPACING);
    }

    /// A scheduler asking every minute for four days never makes a fifth read within 24 hours, as the
    /// strictest bank (the built-in sandbox's count) sees it.
    #[test]
    fn a_scheduler_asking_every_minute_stays_within_four_reads_a_day() {
        let mut reads: Vec<DateTime<Utc>> = Vec::new();
        let (mut last_fetch, mut last_balances) = (None, None);
        let t0 = Utc::now();
        for minute in 0..4 * 24 * 60 {
            let now = t0 + ChronoDuration::minutes(minute);
            if let Ok(planned) = plan(now, last_fetch, last_balances) {
                last_fetch = Some(now);
                reads.push(now);
                if planned.balances {
                    last_balances = Some(now);
                    reads.push(now);
                }
            }
            let window = reads.iter().filter(|at| **at > now - ChronoDuration::hours(24)).count();
            assert!(window <= 4, "{window} reads in the 24 hours before minute {minute}");
        }
        // And it does use the budget: three fetches and one balances read a day.
        assert!(reads.len() >= 4 * 4 - 1, "{}", reads.len());
    }
}
