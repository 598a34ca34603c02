//! Synchronizations whose process died: every process looks every few seconds for a link left
//! `fetching` whose follower stopped renewing its lease (`store::claims::claim_orphan`), takes the lease,
//! and finishes what the follower was doing (`follow::Resume`): waits for the attempt it waited for and
//! applies it, or imports what Salt Edge holds. The import is keyed on each account's transaction ids,
//! so what the dead follower had stored is never stored twice.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::error::Result;
use crate::sync::fetch::{run_fetch, STALE_FETCHING_SECS};
use crate::sync::fetch_start::FetchStart;
use crate::sync::follow::{log_outcome, Resume};
use crate::sync::link_events::FOLLOW_LEASE;
use crate::sync::store;

/// How often a process looks for orphaned synchronizations.
pub const TAKEOVER_POLL: Duration = Duration::from_secs(5);

/// Takes over every orphaned synchronization there is now; returns how many. Salt Edge's attempts only:
/// an Enable Banking read is short, holds no lease, and a link a dead process left `fetching` is read
/// again by the scheduler's next cycle.
pub async fn take_over_orphans(app: &Arc<App>) -> Result<usize> {
    if !app.has_saltedge() {
        return Ok(0);
    }
    let bank = Arc::clone(app.bank()?);
    let mut taken = 0;
    loop {
        let worker = crate::bank::worker();
        let unleased_stale_before = chrono::Utc::now() - chrono::Duration::seconds(STALE_FETCHING_SECS);
        let claimed =
            app.db(move |conn, _| store::claims::claim_orphan(conn, worker, FOLLOW_LEASE, unleased_stale_before));
        let Some((link_id, connection, marker)) = claimed.await? else { return Ok(taken) };
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
