//! Periodic fetching of `auto_sync` links. Each replica claims links one at a time with a lease
//! (`store::claim_due_link`), so several replicas share the work and never fetch a link twice in a cycle.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::error::Result;
use crate::sync::{fetch_and_wait, store};

/// How long a claim protects a link from other replicas; a crashed replica's claims expire after it.
const LEASE_SECS: i64 = 600;

pub fn worker_name() -> String {
    format!("{}-{}", std::process::id(), rand::random::<u32>())
}

/// Fetches every due link once; returns how many were fetched by this replica.
pub async fn run_cycle(app: &Arc<App>, worker: &str, interval: Duration) -> Result<usize> {
    let due_before = (chrono::Utc::now() - chrono::Duration::from_std(interval).unwrap_or_default())
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let stale_fetching_before = crate::sync::state::db_time(
        chrono::Utc::now() - chrono::Duration::seconds(crate::sync::flows::STALE_FETCHING_SECS),
    );
    let mut fetched = 0;
    loop {
        let (w, due, stale) = (worker.to_string(), due_before.clone(), stale_fetching_before.clone());
        let Some(link_id) = app.db(move |conn, _| store::claim_due_link(conn, &w, LEASE_SECS, &due, &stale)).await?
        else {
            break;
        };
        match fetch_and_wait(app, None, link_id, false, &()).await {
            Ok(summary) => {
                tracing::info!(
                    link = link_id,
                    added = summary.posted_added,
                    pending = summary.pending,
                    "scheduled fetch done"
                )
            }
            // The link records its own error state. Its claim is kept for one interval: released now, the
            // link would still be due, and this loop (or another replica) would fetch it again and again
            // within the same cycle.
            Err(e) => {
                tracing::warn!(link = link_id, error = e.message(), "scheduled fetch failed");
                let secs = i64::try_from(interval.as_secs()).unwrap_or(LEASE_SECS).max(1);
                app.db(move |conn, _| store::hold_claim(conn, link_id, secs)).await?;
                fetched += 1;
                continue;
            }
        }
        app.db(move |conn, _| store::release_claim(conn, link_id)).await?;
        fetched += 1;
    }
    Ok(fetched)
}

/// Runs `run_cycle` every `interval` until the process stops.
pub fn spawn(app: Arc<App>, interval: Duration) {
    let worker = worker_name();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.min(Duration::from_secs(60)).max(Duration::from_secs(1)));
        loop {
            ticker.tick().await;
            if let Err(e) = run_cycle(&app, &worker, interval).await {
                tracing::warn!(error = e.message(), "scheduler cycle failed");
            }
        }
    });
}
