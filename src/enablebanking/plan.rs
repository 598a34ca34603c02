//! When the bridge may read a session's accounts without the user, and what.
//!
//! PSD2's rules for account information (RTS, art. 36(5)) let a bank limit the reads the user does not
//! make in person to four per account in 24 hours; Enable Banking passes the bank's refusal on as
//! `ASPSP_RATE_LIMIT_EXCEEDED`. Banks count differently (per endpoint, per account, per consent) and the
//! reference does not say how, so the bridge plans for the strictest count: every read of an account —
//! details, balances, transactions (the further pages of one read are that read) — against one budget of
//! [`READS_PER_DAY`]. The bridge reads every account of a link at once, so it counts per link.
//!
//! A fetch reads each account's transactions, and its balances when the last balances read is a day
//! old; the accounts' details come with the session and are never read unattended. A read counts for 24
//! hours and [`CLOCK_MARGIN`]. The scheduler also waits [`SCHEDULED_SPACING`] after the previous fetch, so
//! its fetches spread over the day and leave reads for the user's Fetch Transactions.

use chrono::{DateTime, Duration as ChronoDuration, Utc};

/// Reads of one account a bank allows in 24 hours without the user.
pub const READS_PER_DAY: usize = 4;
/// Added to the 24 hours a read counts, for clocks that differ.
pub const CLOCK_MARGIN: ChronoDuration = ChronoDuration::minutes(5);
/// Least time between two scheduled fetches.
pub const SCHEDULED_SPACING: ChronoDuration = ChronoDuration::hours(8);

/// How long a read counts against the budget.
pub fn counted_for() -> ChronoDuration {
    ChronoDuration::hours(24) + CLOCK_MARGIN
}

/// Who asks for the fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    /// The scheduler (or `bankbridge sync`): spaced by [`SCHEDULED_SPACING`].
    Scheduler,
    /// A person clicking Fetch Transactions: takes whatever the budget has left.
    User,
}

/// What one fetch reads of each account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedReads {
    pub transactions: bool,
    pub balances: bool,
}

impl PlannedReads {
    pub fn count(self) -> usize {
        usize::from(self.transactions) + usize::from(self.balances)
    }
}

/// What a fetch at `now` may read, given the reads already made (`reads`, any order) and when balances
/// were last read; `Err(at)`: nothing now, the next fetch is allowed at `at`.
pub fn plan(
    now: DateTime<Utc>,
    asker: Asker,
    reads: &[DateTime<Utc>],
    last_balances: Option<DateTime<Utc>>,
) -> Result<PlannedReads, DateTime<Utc>> {
    let mut counting: Vec<DateTime<Utc>> = reads.iter().copied().filter(|at| *at + counted_for() > now).collect();
    counting.sort();
    if asker == Asker::Scheduler {
        if let Some(last) = reads.iter().max() {
            let next = *last + SCHEDULED_SPACING;
            if now < next {
                return Err(next.max(free_at(&counting, 1).unwrap_or(next)));
            }
        }
    }
    let left = READS_PER_DAY.saturating_sub(counting.len());
    let balances_due = last_balances.is_none_or(|last| now >= last + ChronoDuration::hours(24));
    match left {
        0 => Err(free_at(&counting, 1).unwrap_or(now)),
        1 => Ok(PlannedReads { transactions: true, balances: false }),
        _ => Ok(PlannedReads { transactions: true, balances: balances_due }),
    }
}

/// When `needed` reads will be free again, given the reads counting now (oldest first).
fn free_at(counting: &[DateTime<Utc>], needed: usize) -> Option<DateTime<Utc>> {
    let left = READS_PER_DAY.saturating_sub(counting.len());
    if left >= needed {
        return None;
    }
    counting.get(needed - left - 1).map(|oldest| *oldest + counted_for())
}

/// The reads worth remembering at `now` (those still counting), with `made` new ones at `now`.
pub fn remember(now: DateTime<Utc>, reads: &[DateTime<Utc>], made: usize) -> Vec<DateTime<Utc>> {
    let mut kept: Vec<DateTime<Utc>> = reads.iter().copied().filter(|at| *at + counted_for() > now).collect();
    kept.extend(std::iter::repeat_n(now, made));
    kept.sort();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(m: i64) -> ChronoDuration {
        ChronoDuration::minutes(m)
    }

    #[test]
    fn the_user_takes_what_the_budget_has_left_then_is_told_when() {
        let t0 = Utc::now();
        let both = PlannedReads { transactions: true, balances: true };
        let only_transactions = PlannedReads { transactions: true, balances: false };
        assert_eq!(plan(t0, Asker::User, &[], None), Ok(both));
        let reads = remember(t0, &[], 2);
        assert_eq!(plan(t0 + minutes(1), Asker::User, &reads, Some(t0)), Ok(only_transactions));
        let reads = remember(t0 + minutes(1), &reads, 1);
        assert_eq!(plan(t0 + minutes(2), Asker::User, &reads, Some(t0)), Ok(only_transactions));
        let reads = remember(t0 + minutes(2), &reads, 1);
        // Four reads made: the next one is free when the first two stop counting.
        assert_eq!(plan(t0 + minutes(3), Asker::User, &reads, Some(t0)), Err(t0 + counted_for()));
        assert_eq!(plan(t0 + counted_for(), Asker::User, &reads, Some(t0)), Ok(both));
    }

    #[test]
    fn the_scheduler_waits_eight_hours_between_fetches() {
        let t0 = Utc::now();
        let reads = remember(t0, &[], 2);
        assert_eq!(plan(t0 + minutes(60), Asker::Scheduler, &reads, Some(t0)), Err(t0 + SCHEDULED_SPACING));
        assert!(plan(t0 + SCHEDULED_SPACING, Asker::Scheduler, &reads, Some(t0)).is_ok());
        assert_eq!(remember(t0 + counted_for(), &reads, 0), Vec::<DateTime<Utc>>::new());
    }

    /// A scheduler asking every minute and a user clicking every ten minutes, for four days, never make
    /// a fifth read in 24 hours as the strictest bank (the built-in sandbox) counts; and they use it.
    #[test]
    fn no_asker_ever_makes_a_fifth_read_in_a_day() {
        let mut all: Vec<DateTime<Utc>> = Vec::new();
        let mut reads: Vec<DateTime<Utc>> = Vec::new();
        let mut last_balances = None;
        let t0 = Utc::now();
        for minute in 0..4 * 24 * 60 {
            let now = t0 + minutes(minute);
            let asker = if minute % 10 == 5 { Asker::User } else { Asker::Scheduler };
            if let Ok(planned) = plan(now, asker, &reads, last_balances) {
                if planned.balances {
                    last_balances = Some(now);
                }
                reads = remember(now, &reads, planned.count());
                all.extend(std::iter::repeat_n(now, planned.count()));
            }
            let window = all.iter().filter(|at| **at > now - ChronoDuration::hours(24)).count();
            assert!(window <= READS_PER_DAY, "{window} reads in the 24 hours before minute {minute}");
        }
        assert!(all.len() >= 3 * READS_PER_DAY, "{}", all.len());
        assert!(all.windows(2).filter(|pair| pair[0] == pair[1]).count() >= 3, "balances were read too");
    }
}
