//! Following an attempt to its end. Salt Edge runs every attempt (connect, reconnect, refresh, background
//! refresh) asynchronously: the bridge marks the link `fetching`, follows the attempt (a verified callback
//! wakes the follower; without callbacks, `GET /connections/{id}` is polled with backoff, bounded in
//! time), then applies it: a failure is recorded on the link, a success imports what it brought
//! (`sync::import`). Every change of the link goes through `store::links::record`; once the user
//! disconnects the link, the follower's next change is refused and it stops.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use crate::app::App;
use crate::bank::{FollowGuard, MAX_POLL_INTERVAL};
use crate::error::{Error, Result};
use crate::saltedge::{self, Connection, ErrorKind as SeKind};
use crate::sync::failures::{bank_error, fail_attempt, fail_link, fail_link_internal};
use crate::sync::import::{import, ImportError, Progress, SyncSummary};
use crate::sync::link_events::{load, progress, record};
use crate::sync::ownership::verify_owner;
use crate::sync::store::{links::Change, LinkRow, LinkUpdate};
use crate::types::time::{date_string, datetime_string};
use crate::types::{Failure, LinkEvent, Origin};

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

/// Marks the link `fetching` (an attempt runs at Salt Edge, reported by `origin`) and remembers the
/// connection.
pub async fn mark_fetching(app: &Arc<App>, link_id: i64, connection_id: &str, origin: Origin) -> Result<()> {
    let columns = LinkUpdate { connection_identifier: Some(Some(connection_id.to_string())), ..Default::default() };
    record(app, link_id, Change::new(LinkEvent::AttemptStarted(origin)).columns(columns)).await.map(|_| ())
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
    crate::metrics::sync_run(outcome.is_ok());
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
/// company's customer) and follows its attempt, or wakes the follower already waiting for it. `origin`:
/// the user back from Salt Edge's page, or Salt Edge's callback.
pub async fn attach_and_follow(app: &Arc<App>, link: &LinkRow, connection_id: &str, origin: Origin) -> Result<()> {
    let bank = Arc::clone(app.bank()?);
    let connection = bank.client.get_connection(connection_id).await.map_err(|e| bank_error(&e))?;
    verify_owner(app, link, &connection).await?;
    match bank.start_following(link.id) {
        Some(guard) => {
            mark_fetching(app, link.id, &connection.id, origin).await?;
            spawn_follow(app, guard, link.id, connection.id, AttemptMarker::Latest);
        }
        None => {
            bank.wake_follower(link.id);
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
    progress_of: &dyn Progress,
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
                    let outcome = finish_attempt(app, link_id, &connection, &attempt, progress_of).await;
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
                    progress_of.stage(&text);
                    last_stage = stage;
                }
                progress(app, link_id, text).await?;
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
            record(app, link_id, Change::new(LinkEvent::Failed(Failure::Temporary)).message(message.clone())).await?;
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
    progress_of: &dyn Progress,
) -> Result<SyncSummary> {
    let link = load(app, link_id).await?;
    if attempt.failed() {
        let class = attempt.fail_error_class.clone().unwrap_or_default();
        let message = attempt.fail_message.clone().unwrap_or_else(|| "The bank did not complete the attempt.".into());
        return Err(fail_attempt(app, &link, &class, &message).await);
    }
    record_connection(app, &link, connection).await?;
    let mut link = load(app, link_id).await?;
    link.connection_identifier = Some(connection.id.clone());
    if !connection.is_active() {
        let class = connection.fail_error_class().unwrap_or("ConnectionInactive").to_string();
        return Err(fail_attempt(app, &link, &class, "The connection is not active.").await);
    }
    match import(app, &link, &connection.id, progress_of).await {
        Ok(summary) => {
            let next = connection.next_refresh_possible_at_utc().map(datetime_string);
            let mut columns =
                LinkUpdate { last_refresh: Some(Some(datetime_string(Utc::now()))), ..Default::default() };
            if next.is_some() {
                columns.next_refresh = Some(next.clone());
                columns.next_refresh_possible_at = Some(next);
            }
            record(app, link_id, Change::new(LinkEvent::Succeeded).columns(columns)).await?;
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
    let name = link.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| connection.provider_name.clone());
    let columns = LinkUpdate {
        connection_identifier: Some(Some(connection.id.clone())),
        next_refresh: Some(next_possible.clone()),
        next_refresh_possible_at: Some(next_possible),
        expiring_synchronization_date: expiry.map(Some),
        name: Some(Some(name)),
        sync_progress: Some(Some("Importing accounts and transactions.".into())),
        ..Default::default()
    };
    record(app, link.id, Change::new(LinkEvent::Progressed).columns(columns)).await.map(|_| ())
}
