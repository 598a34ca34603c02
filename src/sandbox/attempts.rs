//! Attempts that finish later, as Salt Edge's do.
//!
//! Connect, reconnect, refresh and background_refresh start an attempt (`last_attempt.finished:
//! false`, stage `start`) and answer at once. The attempt then walks through its stages
//! (`connect`, `fetch_accounts`, `fetch_recent`, each announced by a `notify` callback), and only
//! when it reaches `finish` does its data appear (a new connection's accounts; a refresh's settled
//! pending rows and new rows), followed by the `success` callback. The whole walk takes
//! [`SandboxConfig::attempt_delay`](super::SandboxConfig::attempt_delay); with a zero delay
//! (instant mode, for benchmarks) it happens inside the request that started it.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::callbacks::{self, Callback};
use super::state::{self, ConnectionStatus, SandboxState};
use super::Shared;

/// Stages between `start` and `finish`, each announced by a `notify` callback.
pub const PROGRESS_STAGES: &[&str] = &["connect", "fetch_accounts", "fetch_recent"];
/// The same for an interactive provider: the `interactive` stage is announced by an
/// `interactive` callback (the bank asks for an SMS code).
pub const INTERACTIVE_STAGES: &[&str] = &["connect", "interactive", "fetch_accounts", "fetch_recent"];
/// Seconds the interactive stage waits for the user's input (`session_expires_at`).
const INTERACTIVE_WAIT_SECS: i64 = 480;

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

/// Whether the bank asks for interactive input (an SMS code) during the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Not an interactive provider.
    None,
    /// The user gave the input on the hosted page: the attempt goes on.
    Answered,
    /// Nobody is there to answer (background refresh): after the `interactive` callback the
    /// attempt fails with `InteractiveTimeout`, as Salt Edge's does when the input never comes.
    Unattended,
}

impl Interaction {
    fn stages(self) -> &'static [&'static str] {
        match self {
            Interaction::None => PROGRESS_STAGES,
            Interaction::Answered | Interaction::Unattended => INTERACTIVE_STAGES,
        }
    }

    /// The stages this attempt goes through before `finish`.
    fn walk(self) -> &'static [&'static str] {
        match self {
            Interaction::Unattended => &INTERACTIVE_STAGES[..2],
            _ => self.stages(),
        }
    }
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
    interaction: Interaction,
    now: DateTime<Utc>,
) -> Vec<Callback> {
    let delay = shared.cfg.attempt_delay;
    let ending = match interaction {
        Interaction::Unattended => Ending::InteractiveTimeout,
        _ => Ending::Done(work),
    };
    if delay.is_zero() {
        let mut sent = Vec::new();
        for stage in interaction.walk() {
            match advance(state, connection_id, attempt_id, stage, now) {
                Some(callback) => sent.push(callback),
                None => return sent,
            }
        }
        sent.extend(finish(shared, state, connection_id, attempt_id, ending, now));
        return sent;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let step = delay / (interaction.stages().len() as u32 + 1);
        for stage in interaction.walk() {
            tokio::time::sleep(step).await;
            let callback = advance(&mut shared.lock(), connection_id, attempt_id, stage, Utc::now());
            match callback {
                Some(callback) => callbacks::send_all(&shared, vec![callback]).await,
                // The connection was removed or another attempt replaced this one.
                None => return,
            }
        }
        tokio::time::sleep(step).await;
        let sent = finish(&shared, &mut shared.lock(), connection_id, attempt_id, ending, Utc::now());
        callbacks::send_all(&shared, sent).await;
    });
    Vec::new()
}

/// How an attempt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Done(Work),
    InteractiveTimeout,
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
    let customer_id = connection.customer_id;
    if stage == "interactive" {
        let expires = state::later(now, chrono::Duration::seconds(INTERACTIVE_WAIT_SECS));
        let mut callback =
            Callback::new("interactive", Some(connection_id), customer_id, &attempt.custom_fields).stage(stage);
        callback.data["html"] = json!("<div>Enter the SMS code the bank sent you.</div>");
        callback.data["session_expires_at"] = json!(state::timestamp(expires));
        callback.data["interactive_fields_names"] = json!(["sms_code"]);
        return Some(callback);
    }
    Some(Callback::new("notify", Some(connection_id), customer_id, &attempt.custom_fields).stage(stage))
}

/// Finishes the attempt: its data appears, then the `success` callback (or `fail` when the
/// sandbox has no room left for the accounts).
fn finish(
    shared: &Shared,
    state: &mut SandboxState,
    connection_id: u64,
    attempt_id: u64,
    ending: Ending,
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
    let outcome = match ending {
        Ending::InteractiveTimeout => Err(("InteractiveTimeout", "Interactive credentials were not provided in time.")),
        Ending::Done(Work::Link) => add_accounts(shared, state, connection_id, now),
        Ending::Done(Work::Refresh) => {
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
            // A missing answer leaves the connection usable; a failed fetch does not.
            if ending != Ending::InteractiveTimeout {
                connection.status = ConnectionStatus::Inactive;
            }
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
