//! Test hooks under `/sandbox/admin/` — **not** part of Salt Edge's API. No authentication:
//! the sandbox is a loopback test double.
//!
//! | method & path | body (JSON, all fields optional) | effect |
//! |---|---|---|
//! | `GET  /sandbox/admin/state` | | counts of customers, connections, sessions; current faults |
//! | `GET  /sandbox/admin/faults` | | current fault configuration |
//! | `POST /sandbox/admin/faults` | `{mode: "none"\|"rate_limit"\|"server_error"\|"slow"\|"drop"\|"malformed"\|"endless_body", every_nth: 1, retry_after_secs: 1, delay_ms: 0, status: 500}` | fault injection on every Nth `GET /api/v6/…` request (counter restarts) |
//! | `POST /sandbox/admin/connections/{id}/accounts` | `{name, nature, currency_code, transactions, pending}` | adds an account (defaults from the config) |
//! | `POST /sandbox/admin/connections/{id}/expire_consent` | | current consent expires now → `AispConsentExpired` afterwards |
//! | `POST /sandbox/admin/connections/{id}/next_refresh` | `{at: RFC 3339}` or `{in_secs: N}` (default: now) | sets `next_refresh_possible_at` |
//! | `POST /sandbox/admin/connections/{id}/post_pending` | `{account_id, count, new_pending: 0}` | settles pending rows: they become posted with new ids |
//! | `POST /sandbox/admin/connections/{id}/deactivate` | `{error_class}` | marks the connection inactive (last attempt failed) |

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{self, ConnectionStatus, FaultConfig};
use super::Shared;

pub(crate) fn routes(service: &mut web::ServiceConfig) {
    service
        .route("/state", web::get().to(show_state))
        .route("/faults", web::get().to(show_faults))
        .route("/faults", web::post().to(set_faults))
        .route("/connections/{id}/accounts", web::post().to(add_account))
        .route("/connections/{id}/expire_consent", web::post().to(expire_consent))
        .route("/connections/{id}/next_refresh", web::post().to(next_refresh))
        .route("/connections/{id}/post_pending", web::post().to(post_pending))
        .route("/connections/{id}/deactivate", web::post().to(deactivate));
}

/// An admin hook refusing a request.
#[derive(Debug)]
enum AdminError {
    BadRequest(String),
    NotFound(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::BadRequest(message) | AdminError::NotFound(message) => f.write_str(message),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(json!({ "error": self.to_string() }))
    }
}

type AdminResult = Result<HttpResponse, AdminError>;

fn bad_request(message: &str) -> AdminError {
    AdminError::BadRequest(message.to_string())
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("connection {id} not found"))
}

/// Parses an optional JSON body (empty = all defaults).
fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| bad_request(&format!("invalid JSON body: {e}")))
}

fn connection_key(id: &str) -> Result<u64, AdminError> {
    id.parse::<u64>().map_err(|_| not_found(id))
}

async fn show_state(shared: web::Data<Shared>) -> HttpResponse {
    let state = shared.lock();
    HttpResponse::Ok().json(json!({
        "customers": state.customers.len(),
        "connections": state.connections.len(),
        "sessions": state.sessions.len(),
        "faults": state.faults,
    }))
}

async fn show_faults(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.lock().faults)
}

async fn set_faults(body: web::Bytes, shared: web::Data<Shared>) -> AdminResult {
    let faults: FaultConfig = parse_body(&body)?;
    let mut state = shared.lock();
    state.faults = faults;
    state.fault_counter = 0;
    tracing::info!(target: "sandbox", ?faults, "fault injection changed");
    Ok(HttpResponse::Ok().json(faults))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewAccount {
    name: Option<String>,
    nature: Option<String>,
    currency_code: Option<String>,
    transactions: Option<u64>,
    pending: Option<u64>,
}

async fn add_account(path: web::Path<String>, body: web::Bytes, shared: web::Data<Shared>) -> AdminResult {
    let id = path.into_inner();
    let request: NewAccount = parse_body(&body)?;
    let key = connection_key(&id)?;
    let now = Utc::now();
    let mut state = shared.lock();
    let Some(count) = state.connections.get(&key).map(|c| c.accounts.len()) else {
        return Err(not_found(&id));
    };
    let currency = request.currency_code.unwrap_or_else(|| "EUR".to_string()).to_ascii_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad_request("currency_code must be a 3-letter code"));
    }
    let Some(account) = state.new_account(
        now,
        request.name.unwrap_or_else(|| format!("Added account {}", count + 1)),
        request.nature.unwrap_or_else(|| "account".to_string()),
        currency,
        request.transactions.unwrap_or(shared.cfg.transactions_per_account),
        request.pending.unwrap_or(u64::from(shared.cfg.pending_per_account)),
    ) else {
        return Err(bad_request("too many accounts in this sandbox"));
    };
    let Some(connection) = state.connections.get_mut(&key) else {
        return Err(not_found(&id));
    };
    let json = account.to_json(key);
    connection.accounts.push(account);
    connection.updated_at = now;
    Ok(HttpResponse::Ok().json(json!({ "data": json })))
}

async fn expire_consent(path: web::Path<String>, shared: web::Data<Shared>) -> AdminResult {
    let id = path.into_inner();
    let key = connection_key(&id)?;
    let now = Utc::now();
    let mut state = shared.lock();
    let Some(connection) = state.connections.get_mut(&key) else {
        return Err(not_found(&id));
    };
    let Some(consent) = connection.consents.last_mut() else {
        return Err(bad_request("connection has no consent"));
    };
    consent.expires_at = now - ChronoDuration::seconds(1);
    let connection = connection.clone();
    let json = connection.current_consent().map(|consent| consent.to_json(&connection, now));
    Ok(HttpResponse::Ok().json(json!({ "data": json })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextRefresh {
    at: Option<String>,
    in_secs: Option<i64>,
}

async fn next_refresh(path: web::Path<String>, body: web::Bytes, shared: web::Data<Shared>) -> AdminResult {
    let id = path.into_inner();
    let request: NextRefresh = parse_body(&body)?;
    let key = connection_key(&id)?;
    let now = Utc::now();
    let at = match (&request.at, request.in_secs) {
        (Some(text), _) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => at.with_timezone(&Utc),
            Err(_) => return Err(bad_request("`at` must be an RFC 3339 datetime")),
        },
        (None, Some(secs)) => match ChronoDuration::try_seconds(secs) {
            Some(offset) => state::later(now, offset),
            None => return Err(bad_request("`in_secs` is out of range")),
        },
        (None, None) => now,
    };
    let mut state = shared.lock();
    let Some(connection) = state.connections.get_mut(&key) else {
        return Err(not_found(&id));
    };
    connection.next_refresh_possible_at = Some(at);
    let connection = connection.clone();
    Ok(HttpResponse::Ok().json(json!({ "data": state.connection_json(&connection) })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PostPending {
    account_id: Option<String>,
    count: Option<u64>,
    new_pending: u64,
}

async fn post_pending(path: web::Path<String>, body: web::Bytes, shared: web::Data<Shared>) -> AdminResult {
    let id = path.into_inner();
    let request: PostPending = parse_body(&body)?;
    let key = connection_key(&id)?;
    let now = Utc::now();
    let mut state = shared.lock();
    let Some(connection) = state.connections.get_mut(&key) else {
        return Err(not_found(&id));
    };
    let mut settled = 0u64;
    let mut matched = false;
    for account in connection
        .accounts
        .iter_mut()
        .filter(|a| request.account_id.as_deref().is_none_or(|wanted| a.shape.id == wanted))
    {
        matched = true;
        settled += state::settle_pending(account, request.count, request.new_pending, now);
    }
    if !matched {
        return Err(bad_request("no such account in this connection"));
    }
    connection.updated_at = now;
    Ok(HttpResponse::Ok().json(json!({ "settled": settled })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Deactivate {
    error_class: Option<String>,
}

async fn deactivate(path: web::Path<String>, body: web::Bytes, shared: web::Data<Shared>) -> AdminResult {
    let id = path.into_inner();
    let request: Deactivate = parse_body(&body)?;
    let key = connection_key(&id)?;
    let now = Utc::now();
    let class = request.error_class.unwrap_or_else(|| "InvalidCredentials".to_string());
    let mut state = shared.lock();
    let custom_fields = match state.connections.get(&key) {
        Some(connection) => connection.last_attempt.custom_fields.clone(),
        None => return Err(not_found(&id)),
    };
    let attempt = state.new_attempt(now, custom_fields, Some((&class, "Deactivated by the sandbox admin hook.")));
    let Some(connection) = state.connections.get_mut(&key) else {
        return Err(not_found(&id));
    };
    connection.status = ConnectionStatus::Inactive;
    connection.last_attempt = attempt;
    connection.updated_at = now;
    let connection = connection.clone();
    let json: Value = state.connection_json(&connection);
    Ok(HttpResponse::Ok().json(json!({ "data": json })))
}
