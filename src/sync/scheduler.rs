//! Periodic fetching of `auto_sync` links. Each replica claims links one at a time with a lease
//! (`store::claims::claim_due`), so several replicas share the work and never fetch a link twice in a cycle.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::error::Result;
use crate::sync::{fetch_and_wait, store, FetchBy};

/// How long a claim protects a link from other replicas; a crashed replica's claims expire after it.
const LEASE_SECS: i64 = 600;

/// Fetches every due link once; returns how many were fetched by this replica.
pub async fn run_cycle(app: &Arc<App>, worker: &str, interval: Duration) -> Result<usize> {
    let now = chrono::Utc::now();
    let due_before = now - chrono::Duration::from_std(interval).unwrap_or_default();
    let stale_fetching_before = now - chrono::Duration::seconds(crate::sync::fetch::STALE_FETCHING_SECS);
    // Attempts run at Salt Edge for seconds; a replica follows several at once instead of waiting for
    // each in turn.
    let mut running = tokio::task::JoinSet::new();
    let mut fetched = 0;
    loop {
        while running.len() >= CONCURRENT_FETCHES {
            finished(running.join_next().await)?;
        }
        let w = worker.to_string();
        let lease = chrono::Duration::seconds(LEASE_SECS);
        let Some(link_id) =
            app.db(move |conn, _| store::claims::claim_due(conn, &w, lease, due_before, stale_fetching_before)).await?
        else {
            break;
        };
        running.spawn(fetch_claimed(Arc::clone(app), link_id, interval));
        fetched += 1;
    }
    while let Some(done) = running.join_next().await {
        finished(Some(done))?;
    }
    Ok(fetched)
}

/// How many claimed links one replica fetches at the same time.
const CONCURRENT_FETCHES: usize = 8;

fn finished(done: Option<std::result::Result<Result<()>, tokio::task::JoinError>>) -> Result<()> {
    match done {
        Some(Ok(outcome)) => outcome,
        Some(Err(e)) => Err(crate::error::Error::internal("running a scheduled fetch", e)),
        None => Ok(()),
    }
}

/// Fetches one claimed link and releases (or, after a failure, holds) its claim.
async fn fetch_claimed(app: Arc<App>, link_id: i64, interval: Duration) -> Result<()> {
    match fetch_and_wait(&app, None, link_id, FetchBy::Scheduler, &()).await {
        Ok(summary) => {
            tracing::info!(
                link = link_id,
                added = summary.posted_added,
                pending = summary.pending,
                "scheduled fetch done"
            );
            app.db(move |conn, _| store::claims::release(conn, link_id)).await
        }
        // The link records its own error state. Its claim is kept for one interval: released now, the
        // link would still be due, and this loop (or another replica) would fetch it again and again
        // within the same cycle.
        Err(e) => {
            tracing::warn!(link = link_id, error = e.message(), "scheduled fetch failed");
            let secs = i64::try_from(interval.as_secs()).unwrap_or(LEASE_SECS).max(1);
            app.db(move |conn, _| store::claims::hold(conn, link_id, chrono::Duration::seconds(secs))).await
        }
    }
}

/// Runs `run_cycle` every `interval` until the process stops, under this process's worker name.
pub fn spawn(app: Arc<App>, interval: Duration) {
    tokio::spawn(async move {
        let worker = crate::bank::worker();
        let mut ticker = tokio::time::interval(interval.min(Duration::from_secs(60)).max(Duration::from_secs(1)));
        loop {
            ticker.tick().await;
            if let Err(e) = run_cycle(&app, worker, interval).await {
                tracing::warn!(error = e.message(), "scheduler cycle failed");
            }
        }
    });
}
