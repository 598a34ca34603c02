//! The `/api/v6/…` surface: one entry point that authenticates, applies injected faults, and
//! routes by method and path segments to one file per resource (providers, customers,
//! connections, consents, accounts, transactions).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use serde_json::{json, Value};

use super::attempts::{self, Interaction, Work};
use super::callbacks::{self, Callback};
use super::data::{self, AccountShape, RowFilter};
use super::endless_body::EndlessBody;
use super::state::{
    self, ConnectionRec, ConnectionStatus, ConsentState, FaultMode, SandboxState, SessionKind, SessionRec,
};
use super::Shared;
use crate::saltedge::signing;

mod accounts;
mod connections;
mod consents;
mod customers;
mod providers;
mod transactions;

use accounts::*;
use connections::*;
use consents::*;
use customers::*;
use providers::*;
use transactions::*;

/// Longest time a connect URL stays valid.
const SESSION_LIFETIME_MINUTES: i64 = 60;
const MAX_PER_PAGE: u32 = 1000;
const MAX_FAULT_DELAY_MS: u64 = 10 * 60 * 1000;
/// PSD2: background refreshes of a regulated provider's connection allowed per 24 hours.
pub const BACKGROUND_REFRESHES_PER_DAY: usize = 4;

/// A Salt Edge error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: u16,
    class: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: u16, class: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, class, message: message.into() }
    }

    fn response(&self, request: Value) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        HttpResponse::build(status).json(json!({
            "error": {
                "class": self.class,
                "message": self.message,
                "documentation_url": "https://docs.saltedge.com/v6/#errors",
            },
            "request": request,
        }))
    }
}

/// A successful answer (its JSON, encoded) plus the callbacks it triggers.
struct Reply {
    body: serde_json::Result<Vec<u8>>,
    callbacks: Vec<Callback>,
}

/// `{"data": [...], "meta": {"next_id", "next_page"}}`: a page of any list endpoint.
#[derive(serde::Serialize)]
struct PageBody<T> {
    data: Vec<T>,
    meta: PageMeta,
}

#[derive(serde::Serialize)]
struct PageMeta {
    next_id: Option<String>,
    next_page: Option<String>,
}

impl Reply {
    fn data(data: Value) -> Reply {
        Reply { body: serde_json::to_vec(&json!({ "data": data })), callbacks: Vec::new() }
    }

    /// Items of any serializable shape: a page of transactions is written straight from its rows, with
    /// no `Value` tree in between (a 1,000-row page is most of what a sync asks for).
    fn page<T: serde::Serialize>(items: Vec<T>, next_page: Option<(String, String)>) -> Reply {
        let (next_id, next_page) = next_page.unzip();
        let body = PageBody { data: items, meta: PageMeta { next_id, next_page } };
        Reply { body: serde_json::to_vec(&body), callbacks: Vec::new() }
    }
}

type ApiResult = Result<Reply, ApiError>;

/// What a handler gets to look at.
struct Call<'a> {
    shared: &'a web::Data<Shared>,
    path: String,
    query: HashMap<String, String>,
    query_pairs: Vec<(String, String)>,
    body: Value,
    now: DateTime<Utc>,
}

impl Call<'_> {
    fn query(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str).filter(|value| !value.is_empty())
    }

    fn required_query(&self, key: &str) -> Result<&str, ApiError> {
        self.query(key).ok_or_else(|| ApiError::new(400, "WrongRequestFormat", format!("`{key}` is required.")))
    }

    fn id_query(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.query(key).map(|value| parse_id(key, value)).transpose()
    }

    /// A boolean query parameter (absent = false).
    fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.query(key) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(ApiError::new(400, "WrongRequestFormat", format!("`{key}` must be true or false."))),
        }
    }

    /// `from_id` of a list request (0 = from the start).
    fn start_id(&self) -> Result<u64, ApiError> {
        Ok(self.id_query("from_id")?.unwrap_or(0))
    }

    fn per_page(&self) -> Result<usize, ApiError> {
        let default = self.shared.cfg.page_size.clamp(1, MAX_PER_PAGE);
        match self.query("per_page") {
            None => Ok(default as usize),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n.min(MAX_PER_PAGE) as usize),
                _ => Err(ApiError::new(400, "ValueOutOfRange", "`per_page` must be a number from 1 to 1000.")),
            },
        }
    }

    /// `meta.next_page` for the same query with another `from_id`.
    fn next_page(&self, next_id: u64) -> (String, String) {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.query_pairs {
            if key != "from_id" {
                query.append_pair(key, value);
            }
        }
        query.append_pair("from_id", &next_id.to_string());
        (next_id.to_string(), format!("/api/v6/{}?{}", self.path, query.finish()))
    }

    /// `data.<key>` of the JSON body.
    fn body_field(&self, pointer: &str) -> Option<&Value> {
        self.body.pointer(pointer).filter(|value| !value.is_null())
    }
}

fn parse_id(key: &str, value: &str) -> Result<u64, ApiError> {
    value.parse::<u64>().map_err(|_| ApiError::new(400, "WrongRequestFormat", format!("`{key}` must be an id.")))
}

fn id_value(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

pub(crate) async fn dispatch(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.match_info().query("tail").trim_matches('/').to_string();
    let query_pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let echo = Value::Object(query_pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
    if let Err(err) = authenticate(&shared, &req, &body) {
        return err.response(echo);
    }
    let method = req.method().clone();
    // Faults hit reads only, so a retried write can never be applied twice.
    let fault = if method == Method::GET { shared.lock().take_fault() } else { None };
    if let Some(fault) = fault {
        match fault.mode {
            FaultMode::RateLimit => {
                return HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", fault.retry_after_secs.to_string()))
                    .json(json!({
                        "error": {
                            "class": "RateLimitExceeded",
                            "message": "Too many requests. Try again later.",
                            "documentation_url": "https://docs.saltedge.com/v6/#errors",
                        },
                        "request": echo,
                    }));
            }
            FaultMode::ServerError => {
                let status = if (500..600).contains(&fault.status) { fault.status } else { 500 };
                return ApiError::new(status, "InternalServerError", "Sandbox fault: server error.").response(echo);
            }
            FaultMode::Malformed => {
                return HttpResponse::Ok()
                    .content_type("application/json")
                    .body("{\"data\": [{\"id\": \"1\", <html>Sandbox fault: malformed</html>");
            }
            FaultMode::EndlessBody => {
                return HttpResponse::Ok().content_type("application/json").body(EndlessBody::new(
                    b"{\"data\": [",
                    "{\"id\": \"1\", \"amount\": -1.0, \"currency_code\": \"EUR\", \"status\": \"posted\"},",
                ));
            }
            FaultMode::Slow => {
                // Capped so a typo cannot park a worker for days.
                let delay = fault.delay_ms.min(MAX_FAULT_DELAY_MS);
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            FaultMode::Drop | FaultMode::None => {}
        }
    }
    let parsed_body = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(value) => value,
            Err(_) => return ApiError::new(400, "JsonParseError", "Request body is not valid JSON.").response(echo),
        }
    };
    let call = Call {
        shared: &shared,
        query: query_pairs.iter().cloned().collect(),
        query_pairs,
        path,
        body: parsed_body,
        now: Utc::now(),
    };
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let result = route(&call, &method, &segments);
    match result {
        Ok(reply) => {
            callbacks::spawn_all(shared.clone(), reply.callbacks);
            let bytes = match reply.body {
                Ok(bytes) => bytes,
                Err(_) => return ApiError::new(500, "InternalServerError", "Cannot encode answer.").response(echo),
            };
            if fault.map(|f| f.mode) == Some(FaultMode::Drop) {
                return HttpResponse::Ok().content_type("application/json").body(TruncatedBody::new(bytes));
            }
            HttpResponse::Ok().content_type("application/json").body(bytes)
        }
        Err(err) => err.response(echo),
    }
}

/// Any `/api/…` path outside v6: Salt Edge's `RouteNotFound` envelope.
pub(crate) async fn unknown_version(req: HttpRequest) -> HttpResponse {
    ApiError::new(404, "RouteNotFound", format!("Action {} {} was not found.", req.method(), req.path()))
        .response(json!({}))
}

/// Checks `App-id`, `Secret` and, when configured, `Expires-at` + `Signature`.
fn authenticate(shared: &Shared, req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    let header = |name: &str| {
        req.headers().get(name).and_then(|value| value.to_str().ok()).map(str::trim).filter(|value| !value.is_empty())
    };
    let cfg = &shared.cfg;
    let app_id = header("App-id").ok_or_else(|| ApiError::new(401, "AppIdNotProvided", "App-id header is missing."))?;
    if app_id != cfg.app_id {
        return Err(ApiError::new(401, "ClientNotFound", "Client with given App-id was not found."));
    }
    let secret =
        header("Secret").ok_or_else(|| ApiError::new(401, "SecretNotProvided", "Secret header is missing."))?;
    if secret != cfg.secret {
        return Err(ApiError::new(401, "WrongClientSecret", "Secret does not match the App-id."));
    }
    let Some(signature) = header("Signature") else {
        if cfg.require_signature {
            return Err(ApiError::new(400, "MissingSignature", "Signature header is missing."));
        }
        return Ok(());
    };
    let Some(public_key) = cfg.client_public_key_pem.as_deref() else {
        if cfg.require_signature {
            return Err(ApiError::new(400, "PublicKeyNotProvided", "No public key is set for this client."));
        }
        return Ok(());
    };
    let expires_at = header("Expires-at")
        .ok_or_else(|| ApiError::new(400, "MissingExpiresAt", "Expires-at header is missing."))?
        .parse::<i64>()
        .map_err(|_| ApiError::new(400, "ExpiresAtInvalid", "Expires-at is not a UNIX timestamp."))?;
    let now = Utc::now().timestamp();
    if expires_at < now {
        return Err(ApiError::new(400, "RequestExpired", "Request has expired (Expires-at is in the past)."));
    }
    if expires_at > now + 3600 {
        return Err(ApiError::new(400, "ExpiresAtInvalid", "Expires-at is more than 1 hour from now."));
    }
    let info = req.connection_info();
    let url = format!(
        "{}://{}{}",
        info.scheme(),
        info.host(),
        req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/")
    );
    let message = signing::request_string_to_sign(expires_at, req.method().as_str(), &url, body);
    if !signing::verify(public_key, &message, signature) {
        return Err(ApiError::new(400, "SignatureNotMatch", "Signature does not match the request."));
    }
    Ok(())
}

fn route(call: &Call, method: &Method, segments: &[&str]) -> ApiResult {
    let get = method == Method::GET;
    let post = method == Method::POST;
    let delete = method == Method::DELETE;
    let put = method == Method::PUT;
    match segments {
        ["countries"] if get => countries(),
        ["providers"] if get => list_providers(call),
        ["providers", code] if get => show_provider(call, code),
        ["customers"] if post => create_customer(call),
        ["customers"] if get => list_customers(call),
        ["customers", id] if get => show_customer(call, id),
        ["customers", id] if delete => remove_customer(call, id),
        ["connections", "connect"] if post => connect(call),
        ["connections"] if get => list_connections(call),
        ["connections", id] if get => show_connection(call, id),
        ["connections", id] if delete => remove_connection(call, id),
        ["connections", id, "reconnect"] if post => widget_session(call, id, Widget::Reconnect),
        ["connections", id, "refresh"] if post || put => widget_session(call, id, Widget::Refresh),
        ["connections", id, "background_refresh"] if post => background_refresh(call, id),
        ["consents"] if get => list_consents(call),
        ["consents", id] if get => show_consent(call, id),
        ["consents", id, "revoke"] if put || post => revoke_consent(call, id),
        ["accounts"] if get => list_accounts(call),
        ["transactions"] if get => list_transactions(call),
        _ => Err(ApiError::new(
            404,
            "RouteNotFound",
            format!("Action {} /api/v6/{} was not found.", method, segments.join("/")),
        )),
    }
}

/// A body that announces its full length, sends the first half, then fails, so the server
/// drops the connection mid-answer (fault mode `drop`).
struct TruncatedBody {
    prefix: Option<Bytes>,
    declared_len: u64,
}

impl TruncatedBody {
    fn new(full: Vec<u8>) -> TruncatedBody {
        let declared_len = full.len() as u64;
        let half = full.len() / 2;
        let mut full = full;
        full.truncate(half);
        TruncatedBody { prefix: Some(Bytes::from(full)), declared_len }
    }
}

impl MessageBody for TruncatedBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.declared_len)
    }

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        match self.prefix.take() {
            Some(prefix) => Poll::Ready(Some(Ok(prefix))),
            None => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "sandbox fault: connection dropped",
            )))),
        }
    }
}
