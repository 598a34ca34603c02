//! Following an attempt to its end. Salt Edge runs every attempt (connect, reconnect, refresh, background
//! refresh) asynchronously: the bridge marks the link `fetching`, follows the attempt (a verified callback
//! wakes the follower; without callbacks, `GET /connections/{id}` is polled with backoff, bounded in
//! time), then applies it: a failure is recorded on the link, a success imports what it brought
//! (`sync::import`). Every change of the link goes through `store::links::record`; once the user
//! disconnects the link, the follower's next change is refused and it stops.
//!
//! The follower holds the link's follower lease (`store::claims`) and renews it on every poll and page
//! (`link_events::heartbeat`), with the attempt it waits for recorded beside it: when its process dies,
//! another one takes the attempt over from there (`sync::takeover`).

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use crate::app::App;
use crate::bank::{FollowGuard, MAX_POLL_INTERVAL};
use crate::error::{Error, Result};
use crate::saltedge::{self, Connection, ErrorKind as SeKind};
use crate::sync::failures::{bank_error, fail_attempt, fail_link, fail_link_internal};
use crate::sync::import::{import, ImportError, Progress, SyncSummary};
use crate::sync::link_events::{heartbeat, load, record, superseded};
use crate::sync::ownership::verify_owner;
use crate::sync::store;
use crate::sync::store::{links::Change, LinkRow, LinkUpdate};
use crate::types::time::{date_string, datetime_string};
use crate::types::{Failure, LinkEvent, Origin};

/// Which attempt of a connection the bridge waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptMarker {
    /// The connection's last attempt (after a connect/reconnect/refresh page, or a callback).
    Latest,
    /// The attempt with this id (a background refresh's answer).
    Id(String),
    /// An attempt newer than this one (the id before a background refresh whose answer had none).
    After(Option<String>),
}

/// Where a process taking over a link's synchronization picks it up (`follow_marker`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Wait for this attempt, then apply it.
    Attempt(AttemptMarker),
    /// No attempt runs (Salt Edge allows no refresh yet): import what Salt Edge holds.
    Import,
}

impl Resume {
    pub fn stored(&self) -> String {
        match self {
            Resume::Import => "import".to_string(),
            Resume::Attempt(AttemptMarker::Latest) => "latest".to_string(),
            Resume::Attempt(AttemptMarker::Id(id)) => format!("id:{id}"),
            Resume::Attempt(AttemptMarker::After(previous)) => format!("after:{}", previous.as_deref().unwrap_or("")),
        }
    }

    /// A stored marker; none (a follower that died before recording it) or an unknown one: the latest
    /// attempt, which by the time a lease has run out is the one that was started.
    pub fn parse(stored: Option<&str>) -> Resume {
        match stored.unwrap_or("") {
            "import" => Resume::Import,
            other => Resume::Attempt(match (other.strip_prefix("id:"), other.strip_prefix("after:")) {
                (Some(id), _) if !id.is_empty() => AttemptMarker::Id(id.to_string()),
                (_, Some(previous)) => AttemptMarker::After((!previous.is_empty()).then(|| previous.to_string())),
                _ => AttemptMarker::Latest,
            }),
        }
    }
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

/// Starts following `link_id` in this process: the local guard (a callback reaching this process wakes
/// it) and the shared follower's lease. `None` when another follower runs, here or in a process whose
/// lease is live; `force` (`bankbridge sync`, run by an operator) takes the lease whoever holds it.
pub async fn start_following(app: &Arc<App>, link_id: i64, force: bool) -> Result<Option<FollowGuard>> {
    let bank = app.bank()?;
    let Some(guard) = bank.start_following(link_id) else { return Ok(None) };
    let worker = crate::bank::worker();
    let taken = app
        .db(move |conn, _| {
            store::claims::take_follow(conn, link_id, worker, crate::sync::link_events::FOLLOW_LEASE, force)
        })
        .await?;
    Ok(taken.then_some(guard))
}

/// Marks the link `fetching` (an attempt runs at Salt Edge, reported by `origin`), remembers the
/// connection, and records beside the lease where a taker resumes.
pub async fn mark_fetching(
    app: &Arc<App>,
    link_id: i64,
    connection_id: &str,
    origin: Origin,
    resume: Resume,
) -> Result<()> {
    let columns = LinkUpdate { connection_identifier: Some(Some(connection_id.to_string())), ..Default::default() };
    record(app, link_id, Change::new(LinkEvent::AttemptStarted(origin)).columns(columns)).await?;
    let marker = resume.stored();
    app.db(move |conn, _| store::claims::set_follow_marker(conn, link_id, crate::bank::worker(), &marker)).await
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
    match start_following(app, link.id, false).await? {
        Some(guard) => {
            mark_fetching(app, link.id, &connection.id, origin, Resume::Attempt(AttemptMarker::Latest)).await?;
            spawn_follow(app, guard, link.id, connection.id, AttemptMarker::Latest);
        }
        // A follower runs: here it is woken; in another process it polls on its own.
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
                let text = format!("The bank is sending its data (stage: {stage}).");
                if stage != last_stage {
                    progress_of.stage(&text);
                    last_stage = stage;
                }
                if !heartbeat(app, link_id, text).await? {
                    return Err(superseded(app, link_id).await);
                }
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
                "The bank has not finished this synchronization after {minutes} minute(s). The next Fetch Transactions (or the scheduler) picks up what it brings."
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
        Err(ImportError::Superseded) => Err(superseded(app, link_id).await),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taker_resumes_where_the_follower_was() {
        let cases = [
            Resume::Import,
            Resume::Attempt(AttemptMarker::Latest),
            Resume::Attempt(AttemptMarker::Id("777".into())),
            Resume::Attempt(AttemptMarker::After(Some("776".into()))),
            Resume::Attempt(AttemptMarker::After(None)),
        ];
        for resume in cases {
            assert_eq!(Resume::parse(Some(&resume.stored())), resume);
        }
        // A follower that died before recording its marker, or a marker from a newer bridge: the latest.
        for stored in [None, Some(""), Some("id:"), Some("something else")] {
            assert_eq!(Resume::parse(stored), Resume::Attempt(AttemptMarker::Latest), "{stored:?}");
        }
    }
}
