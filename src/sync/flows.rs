//! The synchronization flows. Salt Edge runs every attempt (connect, reconnect, refresh, background
//! refresh) asynchronously: the bridge starts it, marks the link `fetching`, follows it to its end (a
//! verified callback wakes the follower; without callbacks, `GET /connections/{id}` is polled with
//! backoff, bounded in time), then imports what it brought: accounts, then every account's new posted
//! transactions page by page from its cursor, then the current pending set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::bank::{FollowGuard, MAX_POLL_INTERVAL};
use crate::error::{Error, Result};
use crate::saltedge::{self, Connection, ErrorKind as SeKind, SaltEdgeError};
use crate::sync::errors::{fail_link, fail_link_internal, user_error};
use crate::sync::ownership::verify_owner;
use crate::sync::store::{self, LinkRow, LinkUpdate};
use crate::types::time::{date_string, datetime_string, human_time, parse_stored_datetime};
use crate::types::LinkState;

/// Transactions asked per page (Salt Edge's maximum).
pub const PAGE_SIZE: u32 = 1000;

/// What one synchronization imported.
#[derive(Clone, Debug, Default)]
pub struct SyncSummary {
    pub accounts: usize,
    pub posted_added: usize,
    pub pending: usize,
    pub pages: usize,
}

/// Progress of a synchronization, for the CLI.
pub trait Progress: Send + Sync {
    /// Posted rows this fetch of a link should bring, when Salt Edge reports every account's count.
    fn expect(&self, _rows: u64) {}
    fn page(&self, _account: i64, _rows: usize) {}
    /// Where the attempt at Salt Edge stands, in words.
    fn stage(&self, _text: &str) {}
}
impl Progress for () {}

/// Which attempt of a connection the bridge waits for.
#[derive(Clone, Debug)]
pub enum AttemptMarker {
    /// The connection's last attempt (after a connect/reconnect/refresh page, or a callback).
    Latest,
    /// The attempt with this id (a background refresh's answer).
    Id(String),
    /// An attempt newer than this one (the id before a background refresh whose answer had none).
    After(Option<String>),
}

impl AttemptMarker {
    /// The awaited attempt, when it has finished.
    fn finished<'c>(&self, connection: &'c Connection) -> Option<&'c saltedge::Attempt> {
        let attempt = connection.last_attempt.as_ref()?;
        let ours = match self {
            AttemptMarker::Latest => true,
            AttemptMarker::Id(id) => attempt.id.as_deref() == Some(id.as_str()),
            AttemptMarker::After(previous) => attempt.id.is_some() && attempt.id != *previous,
        };
        (ours && attempt.is_finished()).then_some(attempt)
    }
}

async fn load(app: &Arc<App>, link_id: i64) -> Result<LinkRow> {
    app.db(move |conn, _| store::links::load(conn, link_id, None)).await
}

async fn set_progress(app: &Arc<App>, link_id: i64, text: String) -> Result<()> {
    app.db(move |conn, _| {
        store::links::update(conn, link_id, LinkUpdate { sync_progress: Some(Some(text)), ..Default::default() })
    })
    .await
}

/// Marks the link `fetching` (its attempt runs) and remembers the connection.
pub async fn mark_fetching(app: &Arc<App>, link_id: i64, connection_id: &str) -> Result<()> {
    let connection_id = connection_id.to_string();
    app.db(move |conn, _| {
        let mut update = LinkUpdate::to_state(LinkState::Fetching, None);
        update.connection_identifier = Some(Some(connection_id));
        store::links::update(conn, link_id, update)
    })
    .await
}

/// Follows an attempt in the background (a button returns at once); the link records the outcome.
pub fn spawn_follow(app: &Arc<App>, guard: FollowGuard, link_id: i64, connection_id: String, marker: AttemptMarker) {
    let app = Arc::clone(app);
    tokio::spawn(async move {
        log_outcome(link_id, follow_attempt(&app, guard, link_id, &connection_id, marker, &()).await);
    });
}

/// The log line of a synchronization that ran in the background (the link itself records the outcome).
pub fn log_outcome(link_id: i64, outcome: Result<SyncSummary>) {
    match outcome {
        Ok(summary) => {
            tracing::info!(
                link = link_id,
                added = summary.posted_added,
                pending = summary.pending,
                "synchronization done"
            )
        }
        Err(e) => tracing::info!(link = link_id, error = e.message(), "synchronization ended with an error"),
    }
}

/// Attaches a connection Salt Edge reported for the link (after checking it belongs to the link's
/// company's customer) and follows its attempt, or wakes the follower already waiting for it.
pub async fn attach_and_follow(app: &Arc<App>, link: &LinkRow, connection_id: &str) -> Result<()> {
    let shared = Arc::clone(app.bank()?);
    let connection = shared.client.get_connection(connection_id).await.map_err(|e| bank_error(&e))?;
    verify_owner(app, link, &connection).await?;
    match shared.start_following(link.id) {
        Some(guard) => {
            mark_fetching(app, link.id, &connection.id).await?;
            spawn_follow(app, guard, link.id, connection.id, AttemptMarker::Latest);
        }
        None => {
            shared.wake_follower(link.id);
        }
    }
    Ok(())
}

/// Waits for the attempt to finish (woken by callbacks, else polling with backoff until the bank's
/// `attempt_timeout`), then applies it: a failure is recorded on the link, a success imports accounts and
/// transactions.
pub async fn follow_attempt(
    app: &Arc<App>,
    guard: FollowGuard,
    link_id: i64,
    connection_id: &str,
    marker: AttemptMarker,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    let bank = app.bank()?;
    let deadline = Instant::now() + bank.attempt_timeout;
    let mut wait = bank.poll_interval;
    let mut last_stage = String::new();
    loop {
        match bank.client.get_connection(connection_id).await {
            Ok(connection) => {
                if let Some(attempt) = marker.finished(&connection) {
                    let attempt = attempt.clone();
                    let outcome = finish_attempt(app, link_id, &connection, &attempt, progress).await;
                    drop(guard);
                    return outcome;
                }
                let stage = connection
                    .last_attempt
                    .as_ref()
                    .and_then(|a| a.last_stage.as_ref())
                    .map(|s| s.name.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "start".to_string());
                // Written on every poll: it is also the heartbeat that tells other processes it runs.
                let text = format!("Salt Edge is fetching from the bank (stage: {stage}).");
                if stage != last_stage {
                    progress.stage(&text);
                    last_stage = stage;
                }
                set_progress(app, link_id, text).await?;
            }
            // Transient trouble while waiting: keep waiting, within the deadline.
            Err(e) if e.kind() == SeKind::RetryLater => {
                tracing::info!(link = link_id, error = %e, "polling the attempt failed for now");
            }
            Err(e) => {
                let link = load(app, link_id).await?;
                return Err(fail_link(app, &link, &e).await);
            }
        }
        if Instant::now() >= deadline {
            let minutes = bank.attempt_timeout.as_secs().div_ceil(60);
            let message = format!(
                "Salt Edge has not finished this synchronization after {minutes} minute(s). The next Fetch Transactions (or the scheduler) picks up what it brings."
            );
            let text = message.clone();
            app.db(move |conn, _| {
                store::links::finish(conn, link_id, LinkUpdate::to_state(LinkState::Connected, Some(text)))
            })
            .await?;
            return Err(Error::user(message));
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = guard.notify.notified() => {}
        }
        wait = (wait * 2).min(MAX_POLL_INTERVAL);
    }
}

/// Applies a finished attempt.
async fn finish_attempt(
    app: &Arc<App>,
    link_id: i64,
    connection: &Connection,
    attempt: &saltedge::Attempt,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    let link = load(app, link_id).await?;
    if attempt.failed() {
        let class = attempt.fail_error_class.clone().unwrap_or_default();
        let message = attempt.fail_message.clone().unwrap_or_else(|| "The bank did not complete the attempt.".into());
        return Err(apply_failure(app, &link, &class, &message).await?);
    }
    record_connection(app, &link, connection).await?;
    let mut link = load(app, link_id).await?;
    link.connection_identifier = Some(connection.id.clone());
    if !connection.is_active() {
        let class = connection.fail_error_class().unwrap_or("ConnectionInactive").to_string();
        return Err(apply_failure(app, &link, &class, "The connection is not active.").await?);
    }
    match import(app, &link, &connection.id, progress).await {
        Ok(summary) => {
            let (now, next) =
                (datetime_string(Utc::now()), connection.next_refresh_possible_at_utc().map(datetime_string));
            app.db(move |conn, _| {
                let mut update = LinkUpdate::to_state(LinkState::Connected, None);
                update.last_refresh = Some(Some(now));
                if next.is_some() {
                    update.next_refresh = Some(next.clone());
                    update.next_refresh_possible_at = Some(next);
                }
                store::links::finish(conn, link_id, update)
            })
            .await?;
            Ok(summary)
        }
        Err(ImportError::SaltEdge(e)) => Err(fail_link(app, &link, &e).await),
        Err(ImportError::Bridge(e)) => Err(fail_link_internal(app, link_id, e).await),
    }
}

/// Stores what Salt Edge says of a connection that finished an attempt: its id, consent expiry, next
/// refresh time (re-read from the connection, never assumed) and name.
async fn record_connection(app: &Arc<App>, link: &LinkRow, connection: &Connection) -> Result<()> {
    let bank = app.bank()?;
    let consents = match bank.client.list_consents(&connection.id).await {
        Ok(consents) => consents,
        // The expiry date is informative: without it the link still works, so say why and go on.
        Err(e) => {
            tracing::warn!(link = link.id, error = %e, "could not read the connection's consents");
            Vec::new()
        }
    };
    let expiry = consents
        .iter()
        .filter(|c| !c.is_revoked())
        .filter_map(|c| c.expires_at_utc())
        .max()
        .map(|d| date_string(d.date_naive()));
    let next_possible = connection.next_refresh_possible_at_utc().map(datetime_string);
    let (id, connection_id, provider_name) = (link.id, connection.id.clone(), connection.provider_name.clone());
    let name = link.name.clone().filter(|n| !n.is_empty()).unwrap_or(provider_name);
    app.db(move |conn, _| {
        store::links::update(
            conn,
            id,
            LinkUpdate {
                connection_identifier: Some(Some(connection_id)),
                next_refresh: Some(next_possible.clone()),
                next_refresh_possible_at: Some(next_possible),
                expiring_synchronization_date: expiry.map(Some),
                name: Some(Some(name)),
                sync_progress: Some(Some("Importing accounts and transactions.".into())),
                ..Default::default()
            },
        )
    })
    .await
}

/// Records a failed attempt with Salt Edge's class and message (read from Salt Edge or from a verified
/// callback, never from a URL) and returns the user's error.
pub async fn apply_failure(app: &Arc<App>, link: &LinkRow, class: &str, message: &str) -> Result<Error> {
    let link_for_db = link.clone();
    let kind = saltedge::error::classify(0, class);
    let (class, message) = (class.to_string(), message.to_string());
    let text = app
        .db(move |conn, _| {
            let text = if kind == SeKind::Duplicate {
                let existing = match (&link_for_db.provider_code, &link_for_db.client_id) {
                    (Some(provider), Some(customer)) => store::links::other_live_links(conn, &link_for_db, provider, customer)?,
                    _ => Vec::new(),
                };
                // Salt Edge does not say which connection it duplicates: name every candidate.
                let names: Vec<String> =
                    existing.iter().map(|l| format!("\"{}\" (account.online.link {})", l.label(), l.id)).collect();
                match names.as_slice() {
                    [] => "You have already synchronized this bank account. Open the existing bank connection and click Update Credentials instead of adding it again.".to_string(),
                    names => format!(
                        "You have already synchronized this bank account in {}. Open it and click Update Credentials instead of adding it again.",
                        names.join(" or ")
                    ),
                }
            } else if class.is_empty() {
                message.clone()
            } else {
                format!("The bank refused the connection ({class}): {message} Click Update Credentials to try again.")
            };
            // A transient failure of a working connection leaves it connected; anything else needs the user.
            let state = match kind {
                SeKind::RetryLater if link_for_db.connection_identifier.is_some() => LinkState::Connected,
                _ => LinkState::Error,
            };
            store::links::update(conn, link_for_db.id, LinkUpdate::to_state(state, Some(text.clone())))?;
            Ok(text)
        })
        .await?;
    Ok(Error::user(text))
}

/// A failure while importing: Salt Edge's (recorded on the link as such) or the bridge's own.
pub enum ImportError {
    SaltEdge(SaltEdgeError),
    Bridge(Error),
}

impl From<Error> for ImportError {
    fn from(e: Error) -> Self {
        ImportError::Bridge(e)
    }
}

impl From<SaltEdgeError> for ImportError {
    fn from(e: SaltEdgeError) -> Self {
        ImportError::SaltEdge(e)
    }
}

/// Adds the accounts Salt Edge knows that the link lacks and refreshes the others; `(added, updated,
/// posted count per online account id)` (an account without a reported count is absent from the map).
pub async fn sync_accounts(
    app: &Arc<App>,
    link: &LinkRow,
    connection: &str,
) -> std::result::Result<(usize, usize, HashMap<String, u64>), ImportError> {
    let accounts = app.bank()?.client.list_accounts(connection).await?;
    let counts =
        accounts.iter().filter_map(|a| a.extra.transactions_count.as_ref().map(|c| (a.id.clone(), c.posted))).collect();
    let link = link.clone();
    let (added, updated) = app.db(move |conn, _| store::accounts::upsert(conn, &link, &accounts)).await?;
    Ok((added, updated, counts))
}

/// Posted rows still to fetch for these accounts (the bank's count minus the stored rows), when the
/// bank reports a count for each of them.
async fn expected_rows(
    app: &Arc<App>,
    accounts: &[store::AccountRow],
    bank_counts: &HashMap<String, u64>,
) -> Result<Option<u64>> {
    let mut expected = 0;
    for account in accounts {
        let Some(online_id) = &account.online_identifier else { continue };
        let Some(&at_bank) = bank_counts.get(online_id) else { return Ok(None) };
        let account_id = account.id;
        let stored = app.db(move |conn, _| store::transactions::posted_count(conn, account_id)).await?;
        expected += at_bank.saturating_sub(stored);
    }
    Ok(Some(expected))
}

/// Imports what Salt Edge holds now: accounts, then each account's new posted transactions page by
/// page from its cursor (each page committed with the cursor), then its current pending set. Rerunning
/// it, or running it concurrently, never duplicates a row.
pub async fn import(
    app: &Arc<App>,
    link: &LinkRow,
    connection: &str,
    progress: &dyn Progress,
) -> std::result::Result<SyncSummary, ImportError> {
    let bank = app.bank()?;
    let (_, _, bank_counts) = sync_accounts(app, link, connection).await?;
    let link_id = link.id;
    let accounts = app.db(move |conn, _| store::accounts::of_link(conn, link_id)).await?;
    if let Some(expected) = expected_rows(app, &accounts, &bank_counts).await? {
        progress.expect(expected);
    }
    let mut summary = SyncSummary { accounts: accounts.len(), ..Default::default() };
    for account in accounts {
        let Some(online_id) = account.online_identifier.clone() else { continue };
        let account_id = account.id;
        app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "processing")).await?;
        let mut cursor = account.last_transaction_identifier.clone();
        let fetch = |from: Option<String>| {
            let (client, connection, online_id) = (&bank.client, connection.to_string(), online_id.clone());
            async move { client.transactions_page(&connection, &online_id, from.as_deref(), false, PAGE_SIZE).await }
        };
        let mut fetched = Some(fetch(cursor.clone()).await);
        while let Some(result) = fetched.take() {
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "planned")).await?;
                    return Err(e.into());
                }
            };
            // The next page starts at `next_id`; at the end, resume from the last row seen (the
            // unique key absorbs that one repeated row).
            let next = page.next_id.clone().filter(|n| Some(n) != cursor.as_ref());
            let resume = page.next_id.clone().or_else(|| page.data.last().map(|t| t.id.clone())).or(cursor.clone());
            let rows = page.data;
            let (acc, company_id) = (account.clone(), link.company_id);
            let count = rows.len();
            let store = app.db(move |conn, _| {
                store::transactions::store_posted_page(conn, &acc, company_id, &rows, resume.as_deref())
            });
            // Fetch the next page while this one is being stored: at most two pages in memory.
            let inserted = match next.clone() {
                Some(from) => {
                    let (stored, next_page) = tokio::join!(store, fetch(Some(from)));
                    fetched = Some(next_page);
                    stored?
                }
                None => store.await?,
            };
            summary.posted_added += inserted;
            summary.pages += 1;
            progress.page(account_id, count);
            set_progress(app, link.id, format!("Importing transactions: {} new so far.", summary.posted_added)).await?;
            if next.is_some() {
                cursor = next;
            }
        }
        let pending = bank.client.transactions_page(connection, &online_id, None, true, PAGE_SIZE).await?.data;
        let (acc, company_id) = (account.clone(), link.company_id);
        summary.pending +=
            app.db(move |conn, _| store::transactions::replace_pending(conn, &acc, company_id, &pending)).await?;
        app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "done")).await?;
    }
    Ok(summary)
}

/// How a request to fetch transactions started.
pub enum FetchStart {
    /// A background refresh runs at Salt Edge: follow it.
    Refreshing { guard: FollowGuard, connection: String, marker: AttemptMarker },
    /// Salt Edge does not allow a refresh before `until`: import what it already holds.
    TooEarly { guard: FollowGuard, connection: String, until: Option<DateTime<Utc>> },
    /// This link's synchronization already runs.
    AlreadyRunning,
}

/// Starts "Fetch Transactions": a background refresh when Salt Edge allows one. The link is `fetching`
/// afterwards (unless already running).
///
/// `take_over`: run even when the link looks `fetching` elsewhere (`bankbridge sync`, run by an operator
/// after a crash); rows are never duplicated either way.
pub async fn start_fetch(app: &Arc<App>, company: Option<i64>, link_id: i64, take_over: bool) -> Result<FetchStart> {
    let shared = Arc::clone(app.bank()?);
    let link = app.db(move |conn, _| store::links::load(conn, link_id, company)).await?;
    let Some(connection_id) = link.connection_identifier.clone() else {
        return Err(Error::user(match &link.error_message {
            Some(message) if !message.is_empty() && link.state() == LinkState::Error => message.clone(),
            _ => format!(
                "\"{}\" is not connected to a bank yet: click Connect (Add a Bank Account) first.",
                link.label()
            ),
        }));
    };
    if link.state() == LinkState::Fetching && !take_over && running_elsewhere(&shared, &link) {
        return Ok(FetchStart::AlreadyRunning);
    }
    let Some(guard) = shared.start_following(link_id) else { return Ok(FetchStart::AlreadyRunning) };
    let connection = match shared.client.get_connection(&connection_id).await {
        Ok(connection) => connection,
        Err(e) => return Err(fail_link(app, &link, &e).await),
    };
    if !connection.is_active() {
        let class = connection.fail_error_class().unwrap_or("ConnectionInactive").to_string();
        let message = connection
            .last_attempt
            .as_ref()
            .and_then(|a| a.fail_message.clone())
            .unwrap_or_else(|| "The bank connection is not active.".into());
        return Err(apply_failure(app, &link, &class, &message).await?);
    }
    let now = Utc::now();
    let stored_next = link.next_refresh_possible_at.as_deref().and_then(parse_stored_datetime);
    let next = connection.next_refresh_possible_at_utc().or(stored_next);
    if next.is_some_and(|at| at > now) {
        plan_next_fetch(app, link_id, next).await?;
        mark_fetching(app, link_id, &connection_id).await?;
        return Ok(FetchStart::TooEarly { guard, connection: connection_id, until: next });
    }
    let previous = connection.last_attempt.as_ref().and_then(|a| a.id.clone());
    match shared.client.background_refresh(&connection_id).await {
        Ok(refresh) => {
            let marker = match refresh.last_attempt.and_then(|a| a.id) {
                Some(id) if Some(&id) != previous.as_ref() => AttemptMarker::Id(id),
                _ => AttemptMarker::After(previous),
            };
            mark_fetching(app, link_id, &connection_id).await?;
            Ok(FetchStart::Refreshing { guard, connection: connection_id, marker })
        }
        // An attempt already runs at Salt Edge (another replica's click, Salt Edge's own refresh): follow
        // that one to its end instead of failing.
        Err(e) if e.class() == Some("ConnectionAlreadyProcessing") => {
            mark_fetching(app, link_id, &connection_id).await?;
            Ok(FetchStart::Refreshing { guard, connection: connection_id, marker: AttemptMarker::Latest })
        }
        Err(e) if matches!(e.class(), Some("ConnectionCannotBeRefreshed" | "BackgroundFetchLimitExceeded")) => {
            // Re-read when Salt Edge allows the next one; the PSD2 limit (4 a day) lifts a day later.
            let until = match shared.client.get_connection(&connection_id).await {
                Ok(c) => c.next_refresh_possible_at_utc(),
                Err(read) => {
                    tracing::info!(link = link_id, error = %read, "could not re-read the next refresh time");
                    None
                }
            }
            .filter(|at| *at > now)
            .or_else(|| (e.class() == Some("BackgroundFetchLimitExceeded")).then(|| now + chrono::Duration::hours(24)));
            plan_next_fetch(app, link_id, until).await?;
            mark_fetching(app, link_id, &connection_id).await?;
            Ok(FetchStart::TooEarly { guard, connection: connection_id, until })
        }
        Err(e) => Err(fail_link(app, &link, &e).await),
    }
}

/// A follower writes the link's progress at least this often; a `fetching` link not written for longer
/// was left so by a process that died.
pub const STALE_FETCHING_SECS: i64 = 120;

/// Another process (a replica, `bankbridge sync`) follows the link's attempt: its progress was written
/// recently (followers write it on every poll and page).
fn running_elsewhere(bank: &Arc<crate::bank::Bank>, link: &LinkRow) -> bool {
    if bank.is_following(link.id) {
        return true;
    }
    let stale_before = Utc::now() - chrono::Duration::seconds(STALE_FETCHING_SECS);
    link.write_date.as_deref().and_then(parse_stored_datetime).is_some_and(|at| at > stale_before)
}

/// Moves the link's next scheduled fetch to when Salt Edge allows it.
async fn plan_next_fetch(app: &Arc<App>, link_id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
    let Some(until) = until else { return Ok(()) };
    let at = datetime_string(until);
    app.db(move |conn, _| {
        store::links::update(
            conn,
            link_id,
            LinkUpdate {
                next_refresh: Some(Some(at.clone())),
                next_refresh_possible_at: Some(Some(at)),
                ..Default::default()
            },
        )
    })
    .await
}

/// The user's words for "not before": "Salt Edge allows the next refresh on 27 Nov 2026 at 13:25 UTC."
pub fn too_early_message(link: &str, until: Option<DateTime<Utc>>) -> String {
    match until {
        Some(at) => format!(
            "Salt Edge allows the next refresh of \"{link}\" on {}; the bridge imports what Salt Edge already holds now and fetches again then.",
            human_time(at)
        ),
        None => format!(
            "Salt Edge does not allow another refresh of \"{link}\" yet; the bridge imports what Salt Edge already holds now."
        ),
    }
}

/// Runs a started fetch to its end (the CLI and the scheduler wait; buttons spawn this).
pub async fn run_fetch(
    app: &Arc<App>,
    link_id: i64,
    start: FetchStart,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    match start {
        FetchStart::Refreshing { guard, connection, marker } => {
            follow_attempt(app, guard, link_id, &connection, marker, progress).await
        }
        FetchStart::TooEarly { guard, connection, .. } => {
            let link = load(app, link_id).await?;
            let outcome = import(app, &link, &connection, progress).await;
            drop(guard);
            match outcome {
                Ok(summary) => {
                    let now = datetime_string(Utc::now());
                    app.db(move |conn, _| {
                        let mut update = LinkUpdate::to_state(LinkState::Connected, None);
                        update.last_refresh = Some(Some(now));
                        store::links::finish(conn, link_id, update)
                    })
                    .await?;
                    Ok(summary)
                }
                Err(ImportError::SaltEdge(e)) => Err(fail_link(app, &link, &e).await),
                Err(ImportError::Bridge(e)) => Err(fail_link_internal(app, link_id, e).await),
            }
        }
        FetchStart::AlreadyRunning => {
            let link = load(app, link_id).await?;
            Err(Error::user(format!("A synchronization of \"{}\" is already running.", link.label())))
        }
    }
}

/// `bankbridge sync` (`take_over`) and the scheduler: fetch and wait for the result.
pub async fn fetch_and_wait(
    app: &Arc<App>,
    company: Option<i64>,
    link_id: i64,
    take_over: bool,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    let start = start_fetch(app, company, link_id, take_over).await?;
    if let FetchStart::TooEarly { until, .. } = &start {
        let link = load(app, link_id).await?;
        progress.stage(&too_early_message(&link.label(), *until));
    }
    run_fetch(app, link_id, start, progress).await
}

/// Maps a Salt Edge failure met outside any link (customer, providers) to the user's error.
pub fn bank_error(e: &SaltEdgeError) -> Error {
    user_error(None, e)
}
