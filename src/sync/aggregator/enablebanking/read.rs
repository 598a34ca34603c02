//! Fetching an Enable Banking link: the reads the bank's daily limit leaves (`enablebanking::plan`),
//! counted on the link before they are made, then each account's transactions page by page (posted rows
//! stored with each page, the pending set replaced at the end) and, once a day, its balances.
//!
//! One reader per link over every replica: the reader holds the link's follower's lease
//! (`store::claims`) and renews it while it reads; when its process dies, another process takes the read
//! over (`resume`, from `sync::takeover`) once the lease runs out. Rows are stored keyed on their ids, so
//! what the dead reader stored is never stored twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};

use super::failures::fail_link;
use super::records::ReadSplitter;
use crate::app::App;
use crate::bank::{EnableBanking, FollowGuard};
use crate::enablebanking::plan::{self, Asker, PlannedReads};
use crate::enablebanking::{EnableBankingError, ErrorKind as EbKind, TransactionQuery};
use crate::error::{Error, Result};
use crate::sync::failures::{fail_link_internal, record_failure};
use crate::sync::fetch_start::FetchStart;
use crate::sync::import::{Progress, SyncSummary};
use crate::sync::link_events::{load, progress, record, superseded, FOLLOW_LEASE};
use crate::sync::store::{self, links::Change, LinkRow, LinkUpdate};
use crate::types::time::{datetime_string, human_time, parse_stored_datetime};
use crate::types::{Failure, LinkEvent, Origin};

/// History asked for an account with nothing stored yet: the 90 days every PSD2 bank serves.
pub const FIRST_READ_DAYS: i64 = 89;
/// Days read again before the newest stored posted row: banks book late, with earlier dates.
pub const OVERLAP_DAYS: i64 = 7;

/// Starts a fetch of `link`: `Reading` with the reads planned (already counted on the link, which is
/// `fetching`), or `NotBefore` the time the bank's limit allows the next one (nothing changes then but
/// the link's planned times), or `AlreadyRunning` (here, or in another process that holds the reader's
/// lease; `force`, an operator's `bankbridge sync`, takes it whoever holds it).
pub async fn start(
    app: &Arc<App>,
    eb: &Arc<EnableBanking>,
    link: &LinkRow,
    asker: Asker,
    origin: Origin,
    force: bool,
) -> Result<FetchStart> {
    let Some(guard) = eb.start_reading(link.id) else { return Ok(FetchStart::AlreadyRunning) };
    let (link_id, now) = (link.id, Utc::now());
    let worker = crate::bank::worker();
    let leased = app.db(move |conn, _| store::claims::take_follow(conn, link_id, worker, FOLLOW_LEASE, force)).await?;
    if !leased {
        return Ok(FetchStart::AlreadyRunning);
    }
    match app.db(move |conn, _| store::links::take_reads(conn, link_id, now, asker)).await? {
        Err(until) => {
            let at = datetime_string(until);
            let columns = match asker {
                // The scheduler's next turn; a user's click does not move it.
                Asker::Scheduler => LinkUpdate { next_refresh: Some(Some(at.clone())), ..Default::default() },
                Asker::User => LinkUpdate::default(),
            };
            let columns = LinkUpdate { next_refresh_possible_at: Some(Some(at)), ..columns };
            app.db(move |conn, _| {
                store::links::update(conn, link_id, columns)?;
                // Nothing is read: no lease to hold.
                store::claims::release_follow(conn, link_id)
            })
            .await?;
            drop(guard);
            Ok(FetchStart::NotBefore { until })
        }
        Ok(planned) => {
            let columns = LinkUpdate {
                sync_progress: Some(Some("Reading the accounts at the bank.".to_string())),
                ..Default::default()
            };
            record(app, link_id, Change::new(LinkEvent::AttemptStarted(origin)).columns(columns)).await?;
            Ok(FetchStart::Reading { guard, reads: planned })
        }
    }
}

/// Takes over the read of a link whose reader's process died (`sync::takeover` has claimed its lease for
/// this process): reads it again with what the day's budget has left, as the user's click does (the dead
/// reader's reads stay counted: the bank may have served them). None when this process reads the link
/// already. When the budget has nothing left, the link leaves `fetching` with the time of the next read.
pub async fn resume(app: &Arc<App>, eb: &Arc<EnableBanking>, link_id: i64) -> Result<Option<FetchStart>> {
    let Some(guard) = eb.start_reading(link_id) else { return Ok(None) };
    let now = Utc::now();
    match app.db(move |conn, _| store::links::take_reads(conn, link_id, now, Asker::User)).await? {
        Ok(planned) => Ok(Some(FetchStart::Reading { guard, reads: planned })),
        Err(until) => {
            drop(guard);
            let at = datetime_string(until);
            let columns = LinkUpdate {
                next_refresh: Some(Some(at.clone())),
                next_refresh_possible_at: Some(Some(at)),
                ..Default::default()
            };
            app.db(move |conn, _| store::links::update(conn, link_id, columns)).await?;
            let link = load(app, link_id).await?;
            let message = format!(
                "The read of \"{}\" stopped with the bridge process that ran it; the bank allows the next read on {}.",
                link.label(),
                human_time(until)
            );
            Err(record_failure(app, link_id, Failure::Temporary, message.clone(), Error::user(message)).await)
        }
    }
}

/// Renews the reader's lease while a read runs (a page may take longer than the lease), until dropped;
/// says when another process holds it (this one was too slow to renew it and the read was taken over).
struct ReaderLease {
    renewer: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl ReaderLease {
    fn keep(app: &Arc<App>, link_id: i64) -> ReaderLease {
        let lost = Arc::new(AtomicBool::new(false));
        let (app, flag) = (Arc::clone(app), Arc::clone(&lost));
        let every = (FOLLOW_LEASE / 3).to_std().unwrap_or(std::time::Duration::from_secs(10));
        let renewer = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                let worker = crate::bank::worker();
                let renewed =
                    app.db(move |conn, _| store::claims::renew_follow(conn, link_id, worker, FOLLOW_LEASE)).await;
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => tracing::warn!(link = link_id, error = e.message(), "could not renew the reader's lease"),
                }
            }
        });
        ReaderLease { renewer, lost }
    }

    fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for ReaderLease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Where a read of an account starts: a week before its newest stored posted row, at most 89 days back.
fn date_from(latest: Option<NaiveDate>, today: NaiveDate) -> NaiveDate {
    let oldest = today - ChronoDuration::days(FIRST_READ_DAYS);
    latest.map_or(oldest, |latest| (latest - ChronoDuration::days(OVERLAP_DAYS)).clamp(oldest, today))
}

/// A failure while reading: Enable Banking's (recorded on the link as such) or the bridge's own.
enum ReadError {
    EnableBanking(EnableBankingError),
    Bridge(Error),
    /// Another process took the read over (this one lost the reader's lease): it records the outcome.
    Superseded,
}

impl From<Error> for ReadError {
    fn from(e: Error) -> Self {
        ReadError::Bridge(e)
    }
}

impl From<EnableBankingError> for ReadError {
    fn from(e: EnableBankingError) -> Self {
        ReadError::EnableBanking(e)
    }
}

/// Runs a started read to its end and records the outcome on the link.
pub async fn run(
    app: &Arc<App>,
    link_id: i64,
    guard: FollowGuard,
    planned: PlannedReads,
    progress_of: &dyn Progress,
) -> Result<SyncSummary> {
    let eb = Arc::clone(app.enablebanking()?);
    let link = load(app, link_id).await?;
    let lease = ReaderLease::keep(app, link_id);
    let outcome = read_accounts(app, &eb, &link, planned, progress_of, &lease).await;
    drop(lease);
    drop(guard);
    match outcome {
        Ok(summary) => {
            let now = Utc::now();
            let next_possible = next_user_read(&load(app, link_id).await?, now);
            let columns = LinkUpdate {
                last_refresh: Some(Some(datetime_string(now))),
                next_refresh: Some(Some(datetime_string(now + plan::SCHEDULED_SPACING))),
                next_refresh_possible_at: Some(Some(datetime_string(next_possible))),
                ..Default::default()
            };
            record(app, link_id, Change::new(LinkEvent::Succeeded).columns(columns)).await?;
            Ok(summary)
        }
        Err(ReadError::EnableBanking(e)) => {
            if e.kind() == EbKind::RateLimited {
                // The bank counts differently than planned: no read before a day has passed.
                let until = datetime_string(Utc::now() + ChronoDuration::hours(24));
                let columns = LinkUpdate {
                    next_refresh: Some(Some(until.clone())),
                    next_refresh_possible_at: Some(Some(until)),
                    ..Default::default()
                };
                app.db(move |conn, _| store::links::update(conn, link_id, columns)).await?;
            }
            Err(fail_link(app, &link, &e).await)
        }
        Err(ReadError::Bridge(e)) => Err(fail_link_internal(app, link_id, e).await),
        Err(ReadError::Superseded) => Err(superseded(app, link_id).await),
    }
}

/// When the user's next Fetch Transactions may read, given what the link has counted.
fn next_user_read(link: &LinkRow, now: DateTime<Utc>) -> DateTime<Utc> {
    let last_balances = link.balances_read_at.as_deref().and_then(parse_stored_datetime);
    match plan::plan(now, Asker::User, &store::links::counted_reads(link), last_balances) {
        Ok(_) => now,
        Err(at) => at,
    }
}

async fn read_accounts(
    app: &Arc<App>,
    eb: &EnableBanking,
    link: &LinkRow,
    planned: PlannedReads,
    progress_of: &dyn Progress,
    lease: &ReaderLease,
) -> std::result::Result<SyncSummary, ReadError> {
    let link_id = link.id;
    let accounts = app.db(move |conn, _| store::accounts::of_link(conn, link_id)).await?;
    let mut summary = SyncSummary { accounts: accounts.len(), ..Default::default() };
    let today = Utc::now().date_naive();
    for account in accounts {
        // An account the bank gave no uid for cannot be read (blocked or closed at the bank).
        let Some(uid) = account.session_account_id.clone() else { continue };
        let account_id = account.id;
        app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "processing")).await?;
        let latest = app.db(move |conn, _| store::transactions::latest_posted_date(conn, account_id)).await?;
        let query = TransactionQuery { date_from: Some(date_from(latest, today)), ..TransactionQuery::default() };
        let mut pager = eb.client.pager(&uid, query);
        let mut splitter = ReadSplitter::default();
        let mut pending = Vec::new();
        loop {
            if lease.lost() {
                return Err(ReadError::Superseded);
            }
            let page = match pager.next().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(e) => {
                    app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "planned")).await?;
                    return Err(e.into());
                }
            };
            let count = page.len();
            let split = splitter.split(page);
            if split.skipped > 0 {
                tracing::info!(
                    link = link_id,
                    skipped = split.skipped,
                    "rows neither posted nor pending, or unreadable"
                );
            }
            pending.extend(split.pending);
            let (acc, company_id, posted) = (account.clone(), link.company_id, split.posted);
            summary.posted_added += app
                .db(move |conn, _| store::transactions::store_posted_page(conn, &acc, company_id, &posted, None))
                .await?;
            summary.pages += 1;
            progress_of.page(account_id, count);
            progress(app, link_id, format!("Importing transactions: {} new so far.", summary.posted_added)).await?;
        }
        let (acc, company_id) = (account.clone(), link.company_id);
        summary.pending +=
            app.db(move |conn, _| store::transactions::replace_pending(conn, &acc, company_id, &pending)).await?;
        if planned.balances {
            let balances = eb.client.balances(&uid).await?;
            if let Some(amount) = balances.booked().and_then(|b| b.balance_amount.value()) {
                app.db(move |conn, _| store::accounts::set_balance(conn, account_id, amount)).await?;
            }
        }
        app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "done")).await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_start_a_week_before_the_newest_row_within_ninety_days() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(date_from(None, today), today - ChronoDuration::days(89));
        assert_eq!(date_from(Some(today - ChronoDuration::days(2)), today), today - ChronoDuration::days(9));
        assert_eq!(date_from(Some(today - ChronoDuration::days(300)), today), today - ChronoDuration::days(89));
        // A row dated in the future (a bank's value date) does not push the start past today.
        assert_eq!(date_from(Some(today + ChronoDuration::days(30)), today), today);
    }
}
