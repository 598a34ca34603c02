//! Attempts that finish later, as Salt Edge's do.
//!
//! Connect, reconnect, refresh and background_refresh start an attempt (`last_attempt.finished:
//! false`, stage `start`) and answer at once. The attempt then walks through its stages
//! (`connect`, `fetch_accounts`, `fetch_recent`, each announced by a `notify` callback), and only
//! when it reaches `finish` does its data appear (a new connection's accounts; a refresh's settled
//! pending rows and new rows), followed by the `success` callback. The whole walk takes
//! [`SandboxConfig::attempt_delay`](super::SandboxConfig::attempt_delay); with a zero delay
//! (instant mode, for benchmarks) it happens inside the request that started it.

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::callbacks::{self, Callback};
use super::state::{self, ConnectionStatus, SandboxState};
use super::Shared;

/// Stages between `start` and `finish`, each announced by a `notify` callback.
pub const PROGRESS_STAGES: &[&str] = &["connect", "fetch_accounts", "fetch_recent"];

/// Default accounts of a new connection: (name, nature, currency), cycled.
const ACCOUNT_TEMPLATES: &[(&str, &str, &str)] = &[
    ("Checking account", "account", "EUR"),
    ("Credit card", "card", "EUR"),
    ("Savings account", "savings", "EUR"),
    ("Dollar account", "account", "USD"),
];

/// What an attempt brings when it finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A new connection: its accounts (with their history) appear.
    Link,
    /// Reconnect or refresh: pending rows settle, new rows arrive.
    Refresh,
}

/// Starts running attempt `attempt_id` of `connection_id` (already stored with stage `start`).
/// Instant mode runs it to the end now and returns the callbacks for the caller to send;
/// otherwise it runs in the background and this returns nothing.
pub fn launch(
    shared: &web::Data<Shared>,
    state: &mut SandboxState,
    connection_id: u64,
    attempt_id: u64,
    work: Work,
    now: DateTime<Utc>,
) -> Vec<Callback> {
    let delay = shared.cfg.attempt_delay;
    if delay.is_zero() {
        let mut sent = Vec::new();
        for stage in PROGRESS_STAGES {
            match advance(state, connection_id, attempt_id, stage, now) {
                Some(callback) => sent.push(callback),
                None => return sent,
            }
        }
        sent.extend(finish(shared, state, connection_id, attempt_id, work, now));
        return sent;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let step = step_of(delay);
        for stage in PROGRESS_STAGES {
            tokio::time::sleep(step).await;
            let callback = advance(&mut shared.lock(), connection_id, attempt_id, stage, Utc::now());
            match callback {
                Some(callback) => callbacks::send_all(&shared, vec![callback]).await,
                // The connection was removed or another attempt replaced this one.
                None => return,
            }
        }
        tokio::time::sleep(step).await;
        let sent = finish(&shared, &mut shared.lock(), connection_id, attempt_id, work, Utc::now());
        callbacks::send_all(&shared, sent).await;
    });
    Vec::new()
}

/// The pause before each stage: the delay spread over the progress stages and `finish`.
fn step_of(delay: Duration) -> Duration {
    delay / (PROGRESS_STAGES.len() as u32 + 1)
}

/// Records `stage` on the running attempt; `None` when the attempt is no longer running.
fn advance(
    state: &mut SandboxState,
    connection_id: u64,
    attempt_id: u64,
    stage: &'static str,
    now: DateTime<Utc>,
) -> Option<Callback> {
    let stage_id = state.new_id();
    let connection = state.connections.get_mut(&connection_id)?;
    let attempt = &mut connection.last_attempt;
    if attempt.id != attempt_id || attempt.finished {
        return None;
    }
    attempt.push_stage(stage_id, stage, now);
    Some(Callback::new("notify", Some(connection_id), connection.customer_id, &attempt.custom_fields).stage(stage))
}

/// Finishes the attempt: its data appears, then the `success` callback (or `fail` when the
/// sandbox has no room left for the accounts).
fn finish(
    shared: &Shared,
    state: &mut SandboxState,
    connection_id: u64,
    attempt_id: u64,
    work: Work,
    now: DateTime<Utc>,
) -> Vec<Callback> {
    let running = state
        .connections
        .get(&connection_id)
        .is_some_and(|c| c.last_attempt.id == attempt_id && !c.last_attempt.finished);
    if !running {
        return Vec::new();
    }
    let cfg = &shared.cfg;
    let outcome = match work {
        Work::Link => add_accounts(shared, state, connection_id, now),
        Work::Refresh => {
            let new_pending = u64::from(cfg.pending_per_account);
            if let Some(connection) = state.connections.get_mut(&connection_id) {
                for account in &mut connection.accounts {
                    state::refresh_account(account, u64::from(cfg.new_per_refresh), new_pending, now);
                }
            }
            Ok(())
        }
    };
    let stage_id = state.new_id();
    let Some(connection) = state.connections.get_mut(&connection_id) else {
        return Vec::new();
    };
    let interval = state::chrono_duration(cfg.refresh_interval);
    let attempt = &mut connection.last_attempt;
    attempt.push_stage(stage_id, "finish", now);
    attempt.finished = true;
    let custom_fields: Value = attempt.custom_fields.clone();
    connection.updated_at = now;
    connection.next_refresh_possible_at = Some(state::later(now, interval));
    let customer_id = connection.customer_id;
    match outcome {
        Ok(()) => {
            connection.last_attempt.success_at = Some(now);
            vec![Callback::new("success", Some(connection_id), customer_id, &custom_fields).stage("finish")]
        }
        Err((class, message)) => {
            let attempt = &mut connection.last_attempt;
            attempt.fail_at = Some(now);
            attempt.fail_error_class = Some(class.to_string());
            attempt.fail_message = Some(message.to_string());
            connection.status = ConnectionStatus::Inactive;
            vec![Callback::new("fail", Some(connection_id), customer_id, &custom_fields).error(class, message)]
        }
    }
}

/// The accounts of a newly linked connection.
fn add_accounts(
    shared: &Shared,
    state: &mut SandboxState,
    connection_id: u64,
    now: DateTime<Utc>,
) -> Result<(), (&'static str, &'static str)> {
    let cfg = &shared.cfg;
    let Some(provider) = state.connections.get(&connection_id).map(|c| c.provider) else {
        return Ok(());
    };
    let mut accounts = Vec::new();
    for n in 0..cfg.accounts_per_connection as usize {
        let (name, nature, currency) = ACCOUNT_TEMPLATES[n % ACCOUNT_TEMPLATES.len()];
        let account = state
            .new_account(
                now,
                format!("{} {name}", provider.name),
                nature.to_string(),
                currency.to_string(),
                cfg.transactions_per_account,
                u64::from(cfg.pending_per_account),
            )
            .ok_or(("ProviderError", "The sandbox is full (too many accounts)."))?;
        accounts.push(account);
    }
    if let Some(connection) = state.connections.get_mut(&connection_id) {
        connection.accounts.extend(accounts);
    }
    Ok(())
}
