//! Synchronizations whose process died: every process looks every few seconds for a link left
//! `fetching` whose follower stopped renewing its lease (`store::claims::claim_orphan`), takes the lease,
//! and finishes what the follower was doing (`follow::Resume`): waits for the attempt it waited for and
//! applies it, or imports what Salt Edge holds. An Enable Banking link's reader holds the same lease; its
//! read is read again with what the bank's daily limit has left (`enablebanking::read::resume`). Imports
//! are keyed on each account's transaction ids, so what the dead process had stored is never stored twice.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::error::Result;
use crate::sync::aggregator::enablebanking::read as eb_read;
use crate::sync::fetch::{run_fetch, STALE_FETCHING_SECS};
use crate::sync::fetch_start::FetchStart;
use crate::sync::follow::{log_outcome, Resume};
use crate::sync::link_events::FOLLOW_LEASE;
use crate::sync::store;
use crate::types::Provider;

/// How often a process looks for orphaned synchronizations.
pub const TAKEOVER_POLL: Duration = Duration::from_secs(5);

/// Takes over every orphaned synchronization there is now; returns how many.
pub async fn take_over_orphans(app: &Arc<App>) -> Result<usize> {
    let mut taken = 0;
    if app.has_saltedge() {
        taken += take_over_attempts(app).await?;
    }
    if app.has_enablebanking() {
        taken += take_over_reads(app).await?;
    }
    Ok(taken)
}

/// Claims for this process the lease of one link of `provider` whose process died: (id, connection, marker).
async fn claim_orphan(app: &Arc<App>, provider: Provider) -> Result<Option<(i64, String, Option<String>)>> {
    let worker = crate::bank::worker();
    let unleased_stale_before = chrono::Utc::now() - chrono::Duration::seconds(STALE_FETCHING_SECS);
    app.db(move |conn, _| store::claims::claim_orphan(conn, provider, worker, FOLLOW_LEASE, unleased_stale_before))
        .await
}

/// Salt Edge's attempts whose follower died.
async fn take_over_attempts(app: &Arc<App>) -> Result<usize> {
    let bank = Arc::clone(app.bank()?);
    let mut taken = 0;
    while let Some((link_id, connection, marker)) = claim_orphan(app, Provider::SaltEdge).await? {
        // This process's own follower of the link is alive (it just lost its lease while slow): it goes on.
        let Some(guard) = bank.start_following(link_id) else { continue };
        let resume = Resume::parse(marker.as_deref());
        tracing::warn!(link = link_id, resume = %resume.stored(), "taking over a synchronization whose process stopped renewing its lease");
        let start = match resume {
            Resume::Attempt(marker) => FetchStart::Refreshing { guard, connection, marker },
            Resume::Import => FetchStart::TooEarly { guard, connection, until: None },
        };
        let app = Arc::clone(app);
        tokio::spawn(async move { log_outcome(link_id, run_fetch(&app, link_id, start, &()).await) });
        taken += 1;
    }
    Ok(taken)
}

/// Enable Banking's reads whose reader died.
async fn take_over_reads(app: &Arc<App>) -> Result<usize> {
    let eb = Arc::clone(app.enablebanking()?);
    let mut taken = 0;
    while let Some((link_id, _, _)) = claim_orphan(app, Provider::EnableBanking).await? {
        tracing::warn!(link = link_id, "taking over an Enable Banking read whose process stopped renewing its lease");
        // None: this process's own reader of the link is alive (it just lost its lease while slow).
        let start = match eb_read::resume(app, &eb, link_id).await {
            Ok(Some(start)) => start,
            Ok(None) => continue,
            // No read left today (recorded on the link with the time of the next one), or the database failed.
            Err(e) => {
                tracing::warn!(link = link_id, error = e.message(), "the taken-over read cannot run now");
                continue;
            }
        };
        let app = Arc::clone(app);
        tokio::spawn(async move { log_outcome(link_id, run_fetch(&app, link_id, start, &()).await) });
        taken += 1;
    }
    Ok(taken)
}

/// Looks for orphaned synchronizations every `TAKEOVER_POLL` until the process stops.
pub fn spawn(app: Arc<App>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(TAKEOVER_POLL);
        loop {
            ticker.tick().await;
            if let Err(e) = take_over_orphans(&app).await {
                tracing::warn!(error = e.message(), "looking for synchronizations to take over failed");
            }
        }
    });
}
