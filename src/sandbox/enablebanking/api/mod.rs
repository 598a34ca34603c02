//! The API surface: one entry point that checks the JWT, applies injected faults and routes by method
//! and path to the handlers below (application and banks, authorization and sessions) and in
//! `accounts`.

mod accounts;

use std::collections::HashMap;

use actix_web::http::{header, Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::data::{self, BANKS};
use super::state::{
    self, AccountRef, AuthorizationRec, AuthorizationStatus, EbState, FaultConfig, FaultMode, SessionEnd, SessionRec,
};
use super::{Shared, CODE_LIFETIME_MINUTES};
use accounts::{balances, details, endless_transactions, transactions};

/// Longest a `slow` fault may hold a request.
const MAX_FAULT_DELAY_MS: u64 = 10 * 60 * 1000;

/// An `ErrorResponse`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: u16,
    code: Option<&'static str>,
    message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code: Some(code), message: message.into() }
    }

    fn without_code(status: u16, message: impl Into<String>) -> ApiError {
        ApiError { status, code: None, message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "WRONG_REQUEST_PARAMETERS", message)
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        HttpResponse::build(status).json(json!({
            "code": self.status,
            "message": self.message,
            "error": self.code,
            "detail": null,
        }))
    }
}

type ApiResult = Result<Value, ApiError>;

/// What a handler looks at.
struct Call<'a> {
    shared: &'a Shared,
    query: HashMap<String, String>,
    body: &'a [u8],
    /// The request carries the user's IP address: the user is present, the read is not limited.
    psu_present: bool,
    fault: Option<FaultConfig>,
}

impl Call<'_> {
    fn query(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        match serde_json::from_slice::<Value>(self.body) {
            Ok(value @ Value::Object(_)) => Ok(value),
            _ => Err(ApiError::invalid("The request body must be a JSON object")),
        }
    }
}

pub(crate) async fn dispatch(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().trim_matches('/').to_string();
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Err(refusal) = shared.app_key.check(authorization, Utc::now().timestamp()) {
        return ApiError::new(401, refusal.code, refusal.message).response();
    }
    let fault = shared.lock().take_fault(&path);
    if let Some(fault) = &fault {
        match fault.mode {
            FaultMode::Throttle => {
                return HttpResponse::TooManyRequests()
                    .insert_header((header::RETRY_AFTER, fault.retry_after_secs.to_string()))
                    .json(json!({ "code": 429, "message": "Too many requests", "error": null, "detail": null }));
            }
            FaultMode::AspspRateLimit => {
                return ApiError::new(429, "ASPSP_RATE_LIMIT_EXCEEDED", "ASPSP Rate limit exceeded").response();
            }
            FaultMode::ServerError => {
                let status = if (500..600).contains(&fault.status) { fault.status } else { 500 };
                return ApiError::without_code(status, "Internal server error").response();
            }
            FaultMode::AspspError => {
                return ApiError::new(400, "ASPSP_ERROR", "Error interacting with ASPSP").response();
            }
            FaultMode::Malformed => {
                return HttpResponse::Ok().content_type("application/json").body("{\"transactions\": [<html>");
            }
            FaultMode::EndlessBody => {
                return HttpResponse::Ok().content_type("application/json").body(endless_transactions());
            }
            FaultMode::Slow => {
                tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms.min(MAX_FAULT_DELAY_MS))).await;
            }
            FaultMode::EndlessPages | FaultMode::RepeatPage | FaultMode::RepeatKey | FaultMode::None => {}
        }
    }
    let call = Call {
        shared: &shared,
        query: url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect(),
        body: &body,
        psu_present: req.headers().get("Psu-Ip-Address").is_some(),
        fault,
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method();
    let get = method == Method::GET;
    let result = match segments.as_slice() {
        ["application"] if get => Ok(application(&call)),
        ["aspsps"] if get => aspsps(&call),
        ["auth"] if method == Method::POST => start_authorization(&call),
        ["sessions"] if method == Method::POST => authorize_session(&call),
        ["sessions", id] if get => session(&call, id),
        ["sessions", id] if method == Method::DELETE => delete_session(&call, id),
        ["accounts", uid, "details"] if get => details(&call, uid),
        ["accounts", uid, "balances"] if get => balances(&call, uid),
        ["accounts", uid, "transactions"] if get => transactions(&call, uid),
        // FastAPI's answers for unknown routes and methods (no ErrorResponse).
        ["application" | "aspsps" | "auth" | "sessions"] | ["sessions" | "accounts", ..] => {
            return HttpResponse::MethodNotAllowed().json(json!({ "detail": "Method Not Allowed" }));
        }
        _ => return HttpResponse::NotFound().json(json!({ "detail": "Not Found" })),
    };
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(err) => err.response(),
    }
}

// -------------------------------------------------------------------- application and banks

fn application(call: &Call) -> Value {
    let cfg = &call.shared.cfg;
    json!({
        "name": cfg.app_name,
        "description": "bankbridge's built-in Enable Banking sandbox application",
        "kid": cfg.app_id,
        "environment": "SANDBOX",
        "redirect_urls": cfg.redirect_urls,
        "active": true,
        "countries": ["DE", "FI"],
        "services": ["AIS"],
    })
}

fn aspsps(call: &Call) -> ApiResult {
    let country = call.query("country");
    if country.is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(ApiError::invalid("country must be two upper-case letters"));
    }
    let psu_type = call.query("psu_type");
    if psu_type.is_some_and(|p| !matches!(p, "business" | "personal")) {
        return Err(ApiError::invalid("psu_type must be business or personal"));
    }
    let service = call.query("service");
    if service.is_some_and(|s| !matches!(s, "AIS" | "PIS")) {
        return Err(ApiError::invalid("service must be AIS or PIS"));
    }
    let root = call.shared.root_url.as_str();
    let listed: Vec<Value> = BANKS
        .iter()
        .filter(|bank| country.is_none_or(|c| bank.country == c))
        .filter(|bank| psu_type.is_none_or(|p| bank.supports(p)))
        // The sandbox's banks offer account information only.
        .filter(|_| service != Some("PIS"))
        .map(|bank| bank.to_json(root))
        .collect();
    Ok(json!({ "aspsps": listed }))
}

// -------------------------------------------------------------------- authorization and sessions

fn text_field<'v>(body: &'v Value, pointer: &str) -> Result<&'v str, ApiError> {
    body.pointer(pointer).and_then(Value::as_str).ok_or_else(|| {
        ApiError::invalid(format!(
            "{} is required and must be a string",
            pointer.trim_start_matches('/').replace('/', ".")
        ))
    })
}

fn start_authorization(call: &Call) -> ApiResult {
    let body = call.json_body()?;
    let cfg = &call.shared.cfg;
    let valid_until_text = text_field(&body, "/access/valid_until")?;
    let valid_until = DateTime::parse_from_rfc3339(valid_until_text)
        .map_err(|_| ApiError::invalid("access.valid_until must be an RFC 3339 date-time with a timezone offset"))?
        .with_timezone(&Utc);
    let name = text_field(&body, "/aspsp/name")?;
    let country = text_field(&body, "/aspsp/country")?;
    let state = text_field(&body, "/state")?.to_string();
    let redirect_url = text_field(&body, "/redirect_url")?.to_string();
    let psu_type = match body.get("psu_type") {
        None | Some(Value::Null) => "personal".to_string(),
        Some(Value::String(p)) if matches!(p.as_str(), "business" | "personal") => p.clone(),
        Some(_) => return Err(ApiError::invalid("psu_type must be business or personal")),
    };
    if body.get("credentials").is_some_and(|c| !c.is_null()) && body.get("auth_method").is_none_or(Value::is_null) {
        return Err(ApiError::invalid("credentials can be supplied only together with auth_method"));
    }
    if let Some(language) = body.get("language").filter(|l| !l.is_null()) {
        let ok = language.as_str().is_some_and(|l| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()));
        if !ok {
            return Err(ApiError::invalid("language must be a two-letter lower-case code"));
        }
    }
    let bank = data::bank_index(name, country)
        .ok_or_else(|| ApiError::new(400, "WRONG_ASPSP_PROVIDED", "Wrong ASPSP name provided"))?;
    if !BANKS[bank].supports(&psu_type) {
        return Err(ApiError::new(
            400,
            "WRONG_REQUEST_PARAMETERS",
            format!("The ASPSP does not serve {psu_type} users"),
        ));
    }
    if !cfg.redirect_urls.contains(&redirect_url) {
        return Err(ApiError::new(400, "REDIRECT_URI_NOT_ALLOWED", "Redirect URI not allowed"));
    }
    let mut guard = call.shared.lock();
    let now = guard.now();
    if valid_until <= now {
        return Err(ApiError::invalid("access.valid_until must be in the future"));
    }
    if valid_until > now + ChronoDuration::seconds(BANKS[bank].maximum_consent_validity_secs()) {
        return Err(ApiError::invalid("access.valid_until is beyond the ASPSP's maximum_consent_validity"));
    }
    let psu_id = body.get("psu_id").and_then(Value::as_str).map(str::to_string).unwrap_or_else(state::secret_token);
    let psu_id_hash = hex::encode(Sha256::digest(format!("{}|{psu_id}", cfg.app_id)));
    let id = state::uuid();
    guard.authorizations.insert(
        id.clone(),
        AuthorizationRec {
            id: id.clone(),
            bank,
            psu_type,
            valid_until,
            state,
            redirect_url,
            created: now,
            status: AuthorizationStatus::Pending,
            psu_id_hash: psu_id_hash.clone(),
        },
    );
    Ok(json!({
        "url": call.shared.url(&format!("sandbox-bank/authorize/{id}")),
        "authorization_id": id,
        "psu_id_hash": psu_id_hash,
    }))
}

fn authorize_session(call: &Call) -> ApiResult {
    let body = call.json_body()?;
    let code = text_field(&body, "/code")?;
    let cfg = &call.shared.cfg;
    let mut guard = call.shared.lock();
    let state = &mut *guard;
    let now = state.now();
    let record = state
        .codes
        .get(code)
        .cloned()
        .ok_or_else(|| ApiError::new(400, "WRONG_AUTHORIZATION_CODE", "Wrong authorization code provided"))?;
    if record.session_id.is_some() {
        return Err(ApiError::new(400, "ALREADY_AUTHORIZED", "Session is already authorized"));
    }
    if now >= record.issued + ChronoDuration::minutes(CODE_LIFETIME_MINUTES) {
        return Err(ApiError::new(400, "EXPIRED_AUTHORIZATION_CODE", "Authorization code is expired"));
    }
    let authorization = state
        .authorizations
        .get(&record.authorization_id)
        .cloned()
        .ok_or_else(|| ApiError::new(400, "WRONG_AUTHORIZATION_CODE", "Wrong authorization code provided"))?;
    let session_id = state::uuid();
    let mut uids = Vec::new();
    let mut accounts = Vec::new();
    for position in 0..cfg.accounts_per_session {
        let hash = state.bank_account(
            authorization.bank,
            &record.user,
            position,
            cfg.transactions_per_account,
            cfg.pending_per_account,
        );
        let uid = state::uuid();
        state
            .accounts
            .insert(uid.clone(), AccountRef { session_id: session_id.clone(), identification_hash: hash.clone() });
        accounts.push(account_json(state, &hash, &uid, &authorization.psu_type));
        uids.push(uid);
    }
    state.sessions.insert(
        session_id.clone(),
        SessionRec {
            bank: authorization.bank,
            psu_type: authorization.psu_type.clone(),
            valid_until: authorization.valid_until,
            created: authorization.created,
            authorized: now,
            ended: None,
            account_uids: uids,
            psu_id_hash: authorization.psu_id_hash.clone(),
        },
    );
    if let Some(code) = state.codes.get_mut(code) {
        code.session_id = Some(session_id.clone());
    }
    Ok(json!({
        "session_id": session_id,
        "accounts": accounts,
        "aspsp": aspsp_id(authorization.bank),
        "psu_type": authorization.psu_type,
        "access": { "valid_until": state::timestamp(authorization.valid_until) },
    }))
}

fn aspsp_id(bank: usize) -> Value {
    json!({ "name": BANKS[bank].name, "country": BANKS[bank].country })
}

/// `AccountResource` of a bank account as one session sees it.
fn account_json(state: &EbState, hash: &str, uid: &str, psu_type: &str) -> Value {
    let Some(account) = state.bank_accounts.get(hash) else { return Value::Null };
    let shape = &account.shape;
    json!({
        "account_id": { "iban": shape.iban },
        "all_account_ids": [{ "identification": shape.iban, "scheme_name": "IBAN" }],
        "account_servicer": { "bic_fi": BANKS[account.bank].bic },
        "name": shape.name,
        "details": shape.product,
        "usage": if psu_type == "business" { "ORGA" } else { "PRIV" },
        "cash_account_type": shape.cash_account_type,
        "product": shape.product,
        "currency": account.currency(),
        "psu_status": "Account Holder",
        "credit_limit": null,
        "uid": uid,
        "identification_hash": shape.identification_hash,
        "identification_hashes": [shape.identification_hash],
    })
}

fn uuid_segment(id: &str, what: &str) -> Result<(), ApiError> {
    let ok = id.len() == 36
        && id
            .bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("{what} must be a UUID")))
    }
}

fn session(call: &Call, id: &str) -> ApiResult {
    uuid_segment(id, "session_id")?;
    let state = call.shared.lock();
    let session = state
        .sessions
        .get(id)
        .ok_or_else(|| ApiError::new(404, "SESSION_DOES_NOT_EXIST", "No session found matching provided id"))?;
    let now = state.now();
    let accounts_data: Vec<Value> = session
        .account_uids
        .iter()
        .filter_map(|uid| state.accounts.get(uid).map(|a| (uid, a)))
        .map(|(uid, a)| {
            json!({ "uid": uid, "identification_hash": a.identification_hash, "identification_hashes": [a.identification_hash] })
        })
        .collect();
    Ok(json!({
        "status": session.status(now),
        "accounts": session.account_uids,
        "accounts_data": accounts_data,
        "aspsp": aspsp_id(session.bank),
        "psu_type": session.psu_type,
        "psu_id_hash": session.psu_id_hash,
        "access": { "valid_until": state::timestamp(session.valid_until) },
        "created": state::timestamp(session.created),
        "authorized": state::timestamp(session.authorized),
        "closed": session.ended.map(|(_, at)| state::timestamp(at)),
    }))
}

/// The error a read of an ended session gets.
fn ended_error(status: &str) -> ApiError {
    match status {
        "CLOSED" => ApiError::new(401, "CLOSED_SESSION", "Session is closed"),
        "REVOKED" => ApiError::new(401, "REVOKED_SESSION", "Session is revoked"),
        _ => ApiError::new(401, "EXPIRED_SESSION", "Session is expired"),
    }
}

fn delete_session(call: &Call, id: &str) -> ApiResult {
    uuid_segment(id, "session_id")?;
    let mut state = call.shared.lock();
    let now = state.now();
    let session = state
        .sessions
        .get_mut(id)
        .ok_or_else(|| ApiError::new(404, "SESSION_DOES_NOT_EXIST", "No session found matching provided id"))?;
    let status = session.status(now);
    if status != "AUTHORIZED" {
        return Err(ended_error(status));
    }
    session.ended = Some((SessionEnd::Closed, now));
    let uids = session.account_uids.clone();
    state.drop_cursors_of(&uids);
    Ok(json!({ "message": "OK" }))
}
