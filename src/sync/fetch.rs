//! "Fetch Transactions", the scheduler and `bankbridge sync`, for either aggregator. Salt Edge: a
//! background refresh when it allows one (followed to its end by `sync::follow`), else an import of what
//! Salt Edge already holds. Enable Banking: the reads the bank's daily limit leaves
//! (`sync::aggregator::enablebanking::read`), else nothing before the time it allows.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::enablebanking::plan::Asker;
use crate::error::{Error, Result};
use crate::sync::aggregator::enablebanking::read as eb_read;
use crate::sync::failures::{fail_attempt, fail_link, fail_link_internal};
use crate::sync::fetch_start::FetchStart;
use crate::sync::follow::{follow_attempt, mark_fetching, start_following, AttemptMarker, Resume};
use crate::sync::import::{import, ImportError, Progress, SyncSummary};
use crate::sync::link_events::{load, record, superseded};
use crate::sync::store::{self, links::Change, LinkUpdate};
use crate::types::time::{datetime_string, human_time, parse_stored_datetime};
use crate::types::{LinkEvent, LinkState, Origin, Provider};

/// Who asks for a fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchBy {
    /// "Fetch Transactions" in Odoo.
    User,
    /// The `auto_sync` scheduler.
    Scheduler,
    /// `bankbridge sync`, run by an operator (after a crash, say): it runs even when the link looks
    /// `fetching` elsewhere; rows are never duplicated either way.
    Operator,
}

impl FetchBy {
    fn origin(self) -> Origin {
        match self {
            FetchBy::User => Origin::User,
            FetchBy::Scheduler | FetchBy::Operator => Origin::Background,
        }
    }

    /// Whose turn it is in the bank's daily read budget: the user's click and the operator's command
    /// take what is left, the scheduler keeps to its spacing.
    fn asker(self) -> Asker {
        match self {
            FetchBy::User | FetchBy::Operator => Asker::User,
            FetchBy::Scheduler => Asker::Scheduler,
        }
    }
}

/// Starts a fetch: a background refresh when Salt Edge allows one, the planned reads of an Enable Banking
/// link. The link is `fetching` afterwards (unless already running, or nothing is allowed now). A link the
/// user disconnected is fetched only when the user asks.
pub async fn start_fetch(app: &Arc<App>, company: Option<i64>, link_id: i64, by: FetchBy) -> Result<FetchStart> {
    let origin = by.origin();
    let (link, allowed) = app
        .db(move |conn, _| {
            let link = store::links::load(conn, link_id, company)?;
            let facts = store::links::facts(conn, &link)?;
            let allowed = link.state().after(LinkEvent::AttemptStarted(origin), facts).is_ok();
            Ok((link, allowed))
        })
        .await?;
    if !allowed {
        return Err(Error::user(format!(
            "\"{}\" is disconnected: the bridge fetches nothing for it until you click Update Credentials.",
            link.label()
        )));
    }
    let connection_id = crate::sync::link_events::connected(&link)?;
    if link.provider() == Provider::EnableBanking {
        let eb = Arc::clone(app.enablebanking()?);
        // Revoking ended its session: nothing can be read with it any more, not even when the user asks.
        if link.state() == LinkState::Disconnected {
            return Err(Error::user(format!(
                "\"{}\" is disconnected: its Enable Banking session is ended. Click Update Credentials to connect it again.",
                link.label()
            )));
        }
        if link.state() == LinkState::Fetching && by != FetchBy::Operator && written_recently(&link) {
            return Ok(FetchStart::AlreadyRunning);
        }
        return eb_read::start(app, &eb, &link, by.asker(), origin, by == FetchBy::Operator).await;
    }
    let shared = Arc::clone(app.bank()?);
    // One follower per link, over every replica: the follower's lease says who (an operator's `bankbridge
    // sync` takes it over whoever holds it).
    let Some(guard) = start_following(app, link_id, by == FetchBy::Operator).await? else {
        return Ok(FetchStart::AlreadyRunning);
    };
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
        return Err(fail_attempt(app, &link, &class, &message).await);
    }
    let now = Utc::now();
    let stored_next = link.next_refresh_possible_at.as_deref().and_then(parse_stored_datetime);
    let next = connection.next_refresh_possible_at_utc().or(stored_next);
    if next.is_some_and(|at| at > now) {
        plan_next_fetch(app, link_id, next).await?;
        mark_fetching(app, link_id, &connection_id, origin, Resume::Import).await?;
        return Ok(FetchStart::TooEarly { guard, connection: connection_id, until: next });
    }
    let previous = connection.last_attempt.as_ref().and_then(|a| a.id.clone());
    match shared.client.background_refresh(&connection_id).await {
        Ok(refresh) => {
            let marker = match refresh.last_attempt.and_then(|a| a.id) {
                Some(id) if Some(&id) != previous.as_ref() => AttemptMarker::Id(id),
                _ => AttemptMarker::After(previous),
            };
            mark_fetching(app, link_id, &connection_id, origin, Resume::Attempt(marker.clone())).await?;
            Ok(FetchStart::Refreshing { guard, connection: connection_id, marker })
        }
        // An attempt already runs at Salt Edge (another replica's click, Salt Edge's own refresh): follow
        // that one to its end instead of failing.
        Err(e) if e.class() == Some("ConnectionAlreadyProcessing") => {
            mark_fetching(app, link_id, &connection_id, origin, Resume::Attempt(AttemptMarker::Latest)).await?;
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
            mark_fetching(app, link_id, &connection_id, origin, Resume::Import).await?;
            Ok(FetchStart::TooEarly { guard, connection: connection_id, until })
        }
        Err(e) => Err(fail_link(app, &link, &e).await),
    }
}

/// A follower writes the link's progress at least this often; a `fetching` link with no follower's lease
/// (from before leases) not written for longer was left so by a process that died.
pub const STALE_FETCHING_SECS: i64 = 120;

/// An Enable Banking link's read was written less than [`STALE_FETCHING_SECS`] ago (a read still running
/// here or in another replica: it holds the reader's lease, and `sync::takeover` finishes one whose
/// process died).
fn written_recently(link: &store::LinkRow) -> bool {
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

/// The user's words for "not before": "The bank allows the next refresh of "X" on 27 Nov 2026 at
/// 13:25 UTC; …" (the time machine-readable on the link too: `next_refresh`).
pub fn too_early_message(link: &str, until: Option<DateTime<Utc>>) -> String {
    match until {
        Some(at) => format!(
            "The bank allows the next refresh of \"{link}\" on {}; the transactions it has already sent are imported now, the next ones then.",
            human_time(at)
        ),
        None => format!(
            "The bank does not allow another refresh of \"{link}\" yet; the transactions it has already sent are imported now."
        ),
    }
}

/// The user's words for Enable Banking's "not before": when the bank's daily limit allows the next read.
pub fn not_before_message(link: &str, until: DateTime<Utc>) -> String {
    format!("The bank allows about four reads of \"{link}\" a day without you: the next one on {}.", human_time(until))
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
                    let columns =
                        LinkUpdate { last_refresh: Some(Some(datetime_string(Utc::now()))), ..Default::default() };
                    record(app, link_id, Change::new(LinkEvent::Succeeded).columns(columns)).await?;
                    Ok(summary)
                }
                Err(ImportError::SaltEdge(e)) => Err(fail_link(app, &link, &e).await),
                Err(ImportError::Bridge(e)) => Err(fail_link_internal(app, link_id, e).await),
                Err(ImportError::Superseded) => Err(superseded(app, link_id).await),
            }
        }
        FetchStart::Reading { guard, reads } => eb_read::run(app, link_id, guard, reads, progress).await,
        // Nothing to read now; the link's planned times say when.
        FetchStart::NotBefore { .. } => Ok(SyncSummary::default()),
        FetchStart::AlreadyRunning => {
            let link = load(app, link_id).await?;
            Err(Error::user(format!("A synchronization of \"{}\" is already running.", link.label())))
        }
    }
}

/// `bankbridge sync` and the scheduler: fetch and wait for the result.
pub async fn fetch_and_wait(
    app: &Arc<App>,
    company: Option<i64>,
    link_id: i64,
    by: FetchBy,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    let start = start_fetch(app, company, link_id, by).await?;
    if let FetchStart::TooEarly { until, .. } = &start {
        let link = load(app, link_id).await?;
        progress.stage(&too_early_message(&link.label(), *until));
    }
    if let FetchStart::NotBefore { until } = &start {
        let link = load(app, link_id).await?;
        progress.stage(&not_before_message(&link.label(), *until));
    }
    let runs = !matches!(start, FetchStart::AlreadyRunning | FetchStart::NotBefore { .. });
    let outcome = run_fetch(app, link_id, start, progress).await;
    if runs {
        crate::metrics::sync_run(outcome.is_ok());
    }
    outcome
}
