//! Test hooks under `/sandbox/admin/` — **not** part of Enable Banking's API. No authentication: the
//! sandbox is a loopback test double.
//!
//! | method & path | body (JSON, fields optional) | effect |
//! |---|---|---|
//! | `GET  /sandbox/admin/state` | | counts of authorizations, sessions, accounts; faults; clock offset |
//! | `POST /sandbox/admin/faults` | `{mode, every_nth: 1, path_contains: "", status: 500, retry_after_secs: 1, delay_ms: 0, times: 0}` | fault injection (modes: `none`, `throttle`, `aspsp_rate_limit`, `server_error`, `aspsp_error`, `endless_pages`, `repeat_page`, `repeat_key`, `endless_body`, `malformed`, `slow`) |
//! | `POST /sandbox/admin/clock` | `{advance_secs}` | moves the sandbox's business clock forward (session expiry, code lifetime, read limits) |
//! | `POST /sandbox/admin/sessions/{id}/expire` | | the session's `valid_until` becomes now → `EXPIRED_SESSION` |
//! | `POST /sandbox/admin/sessions/{id}/revoke` | | the user withdrew the consent at the bank → `REVOKED_SESSION` |
//! | `POST /sandbox/admin/accounts/settle_pending` | `{account, new_pending: 0}` | the account's pending rows are booked (new `entry_reference`s, today) and `new_pending` new ones appear |
//! | `POST /sandbox/admin/accounts/add_booked` | `{account, count: 1}` | `count` new booked rows dated today |
//! | `POST /sandbox/admin/accounts/reset_reads` | `{account}` | forgets the account's unattended reads |
//!
//! `account` is a session's account `uid` or the account's `identification_hash` (what a bridge stores).

use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::json;

use super::data;
use super::state::{self, FaultConfig, SessionEnd};
use super::Shared;

pub(crate) fn routes(service: &mut web::ServiceConfig) {
    service
        .route("/state", web::get().to(show_state))
        .route("/faults", web::post().to(set_faults))
        .route("/clock", web::post().to(clock))
        .route("/sessions/{id}/expire", web::post().to(expire_session))
        .route("/sessions/{id}/revoke", web::post().to(revoke_session))
        .route("/accounts/settle_pending", web::post().to(settle_pending))
        .route("/accounts/add_booked", web::post().to(add_booked))
        .route("/accounts/reset_reads", web::post().to(reset_reads));
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message.into() }))
}

fn not_found(what: &str) -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": format!("{what} not found") }))
}

/// Parses an optional JSON body (empty = every field's default); the error is the message.
fn parse<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn show_state(shared: web::Data<Shared>) -> HttpResponse {
    let state = shared.lock();
    let now = state.now();
    let mut by_status = std::collections::BTreeMap::<&str, usize>::new();
    for session in state.sessions.values() {
        *by_status.entry(session.status(now)).or_default() += 1;
    }
    HttpResponse::Ok().json(json!({
        "sessions_by_status": by_status,
        "authorizations": state.authorizations.len(),
        "codes": state.codes.len(),
        "sessions": state.sessions.len(),
        "accounts": state.accounts.len(),
        "bank_accounts": state.bank_accounts.len(),
        "faults": state.faults,
        "clock_offset_secs": state.clock_offset_secs,
    }))
}

async fn set_faults(body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    match parse::<FaultConfig>(&body) {
        Ok(faults) => {
            shared.lock().set_faults(faults.clone());
            HttpResponse::Ok().json(faults)
        }
        Err(message) => bad_request(message),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Clock {
    advance_secs: i64,
}

async fn clock(body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    match parse::<Clock>(&body) {
        Ok(clock) if (0..=10 * 365 * 86_400).contains(&clock.advance_secs) => {
            let mut state = shared.lock();
            state.clock_offset_secs += clock.advance_secs;
            HttpResponse::Ok().json(json!({ "clock_offset_secs": state.clock_offset_secs }))
        }
        Ok(_) => bad_request("advance_secs must be from 0 to ten years"),
        Err(message) => bad_request(message),
    }
}

async fn expire_session(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let mut state = shared.lock();
    let now = state.now();
    match state.sessions.get_mut(path.as_str()) {
        Some(session) => {
            session.valid_until = now;
            HttpResponse::Ok().json(json!({ "status": session.status(now) }))
        }
        None => not_found("session"),
    }
}

async fn revoke_session(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let mut state = shared.lock();
    let now = state.now();
    match state.sessions.get_mut(path.as_str()) {
        Some(session) => {
            session.ended = Some((SessionEnd::Revoked, now));
            HttpResponse::Ok().json(json!({ "status": session.status(now) }))
        }
        None => not_found("session"),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Settle {
    account: String,
    new_pending: u32,
}

/// The bank account behind a session account `uid` or an identification hash.
fn bank_account_of<'s>(state: &'s mut state::EbState, account: &str) -> Option<&'s mut state::BankAccount> {
    let hash = match state.accounts.get(account) {
        Some(found) => found.identification_hash.clone(),
        None => account.to_string(),
    };
    state.bank_accounts.get_mut(&hash)
}

async fn settle_pending(body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let settle = match parse::<Settle>(&body) {
        Ok(settle) if settle.new_pending <= 1000 => settle,
        Ok(_) => return bad_request("new_pending must be at most 1000"),
        Err(message) => return bad_request(message),
    };
    let mut state = shared.lock();
    let today = state.now().date_naive();
    let Some(account) = bank_account_of(&mut state, &settle.account) else { return not_found("account") };
    let hash = account.shape.identification_hash.clone();
    let settled = std::mem::take(&mut account.pending);
    let count = settled.len();
    for row in settled {
        let seq = account.added.len();
        account.added.push(data::Row {
            entry_reference: Some(format!("{}-S{seq:07}", data::short(&hash))),
            booked: true,
            date: today,
            ..row
        });
    }
    for _ in 0..settle.new_pending {
        account.pending.push(data::pending_row(&hash, account.pending_seq, today));
        account.pending_seq += 1;
    }
    HttpResponse::Ok().json(json!({ "settled": count, "pending": account.pending.len() }))
}

#[derive(Deserialize)]
#[serde(default)]
struct Add {
    account: String,
    count: u32,
}

impl Default for Add {
    fn default() -> Self {
        Add { account: String::new(), count: 1 }
    }
}

async fn add_booked(body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let add = match parse::<Add>(&body) {
        Ok(add) if add.count <= 10_000 => add,
        Ok(_) => return bad_request("count must be at most 10000"),
        Err(message) => return bad_request(message),
    };
    let mut state = shared.lock();
    let today = state.now().date_naive();
    let Some(account) = bank_account_of(&mut state, &add.account) else { return not_found("account") };
    let hash = account.shape.identification_hash.clone();
    for _ in 0..add.count {
        let seq = account.added.len();
        let template = data::booked_row(&hash, 1_000_000 + seq as u64, today);
        account.added.push(data::Row {
            entry_reference: Some(format!("{}-A{seq:07}", data::short(&hash))),
            date: today,
            ..template
        });
    }
    HttpResponse::Ok().json(json!({ "added": add.count }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Which {
    account: String,
}

async fn reset_reads(body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let which = match parse::<Which>(&body) {
        Ok(which) => which,
        Err(message) => return bad_request(message),
    };
    let mut state = shared.lock();
    match bank_account_of(&mut state, &which.account) {
        Some(account) => {
            account.unattended_reads.clear();
            HttpResponse::Ok().json(json!({ "unattended_reads": 0 }))
        }
        None => not_found("account"),
    }
}
