//! The `/api/v6/…` surface: one entry point that authenticates, applies injected faults, and
//! routes by method and path segments.

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
use super::state::{
    self, ConnectionRec, ConnectionStatus, ConsentState, FaultMode, SandboxState, SessionKind, SessionRec,
};
use super::Shared;
use crate::saltedge::signing;

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

/// A successful answer plus the callbacks it triggers.
struct Reply {
    body: Value,
    callbacks: Vec<Callback>,
}

impl Reply {
    fn data(data: Value) -> Reply {
        Reply { body: json!({ "data": data }), callbacks: Vec::new() }
    }

    fn page(items: Vec<Value>, next_page: Option<(String, String)>) -> Reply {
        let (next_id, next_page) = match next_page {
            Some((id, page)) => (json!(id), json!(page)),
            None => (Value::Null, Value::Null),
        };
        Reply {
            body: json!({ "data": items, "meta": { "next_id": next_id, "next_page": next_page } }),
            callbacks: Vec::new(),
        }
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
            let bytes = match serde_json::to_vec(&reply.body) {
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

// ------------------------------------------------------------------ providers & customers

fn countries() -> ApiResult {
    let mut codes: Vec<&str> = data::PROVIDERS.iter().map(|p| p.country_code).collect();
    codes.sort_unstable();
    codes.dedup();
    let names = |code: &str| match code {
        "XF" => "Fake Country",
        "DE" => "Germany",
        "FR" => "France",
        "ES" => "Spain",
        "NL" => "Netherlands",
        "GB" => "United Kingdom",
        "IT" => "Italy",
        _ => "",
    };
    let items: Vec<Value> =
        codes.into_iter().map(|code| json!({ "code": code, "name": names(code), "refresh_start_time": 2 })).collect();
    Ok(Reply::data(json!(items)))
}

fn refresh_timeout_minutes(call: &Call) -> u64 {
    call.shared.cfg.refresh_interval.as_secs().div_ceil(60)
}

fn list_providers(call: &Call) -> ApiResult {
    // A Test-status client sees the fake providers only when it asks for them (v6
    // `include_sandboxes`; the v5 `include_fake_providers` means nothing here).
    let include_fake = call.flag("include_sandboxes")?;
    let country = call.query("country_code").map(str::to_ascii_uppercase);
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let mut matching = data::PROVIDERS.iter().filter(|p| {
        (include_fake || !p.is_fake()) && country.as_deref().is_none_or(|c| p.country_code == c) && p.id >= from_id
    });
    let items: Vec<Value> = matching
        .by_ref()
        .take(per_page)
        .map(|p| p.to_json(refresh_timeout_minutes(call), call.shared.cfg.consent_days))
        .collect();
    let next = matching.next().map(|p| call.next_page(p.id));
    Ok(Reply::page(items, next))
}

fn show_provider(call: &Call, code: &str) -> ApiResult {
    let provider = data::find_provider(code)
        .ok_or_else(|| ApiError::new(404, "ProviderNotFound", format!("Provider with code '{code}' was not found.")))?;
    Ok(Reply::data(provider.to_json(refresh_timeout_minutes(call), call.shared.cfg.consent_days)))
}

fn create_customer(call: &Call) -> ApiResult {
    let identifier = call
        .body_field("/data/identifier")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::new(400, "WrongRequestFormat", "`data.identifier` is required."))?;
    if identifier.len() > 255 {
        return Err(ApiError::new(406, "IdentifierInvalid", "Identifier is too long."));
    }
    let mut state = call.shared.lock();
    if state.customers.values().any(|c| c.identifier == identifier) {
        return Err(ApiError::new(409, "DuplicatedCustomer", "Customer with such identifier already exists."));
    }
    let id = state.new_id();
    let customer = state::CustomerRec { id, identifier: identifier.to_string(), created_at: call.now };
    let json = customer.to_json();
    state.customers.insert(id, customer);
    Ok(Reply::data(json))
}

fn list_customers(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    let mut matching = state.customers.range(from_id..);
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|(_, c)| c.to_json()).collect();
    let next = matching.next().map(|(id, _)| call.next_page(*id));
    Ok(Reply::page(items, next))
}

fn customer_not_found(id: &str) -> ApiError {
    ApiError::new(404, "CustomerNotFound", format!("Customer with id: '{id}' was not found."))
}

fn show_customer(call: &Call, id: &str) -> ApiResult {
    let state = call.shared.lock();
    let customer =
        id.parse::<u64>().ok().and_then(|key| state.customers.get(&key)).ok_or_else(|| customer_not_found(id))?;
    Ok(Reply::data(customer.to_json()))
}

fn remove_customer(call: &Call, id: &str) -> ApiResult {
    let mut state = call.shared.lock();
    let key = id.parse::<u64>().map_err(|_| customer_not_found(id))?;
    state.customers.remove(&key).ok_or_else(|| customer_not_found(id))?;
    let mut callbacks = Vec::new();
    state.connections.retain(|_, connection| {
        if connection.customer_id == key {
            callbacks.push(Callback::new("destroy", Some(connection.id), key, &json!({})));
            false
        } else {
            true
        }
    });
    state.sessions.retain(|_, session| match session.kind {
        SessionKind::Connect { customer_id, .. } => customer_id != key,
        _ => true,
    });
    let mut reply = Reply::data(json!({ "customer_id": id, "deleted": true }));
    reply.callbacks = callbacks;
    Ok(reply)
}

// ------------------------------------------------------------------ connect widget

enum Widget {
    Reconnect,
    Refresh,
}

/// Validated `attempt` / `consent` options of a connect, reconnect or refresh request.
struct WidgetOptions {
    return_to: String,
    custom_fields: Value,
    scopes: Vec<String>,
    from_date: Option<String>,
    include_sandboxes: bool,
    return_error_class: bool,
}

fn widget_options(call: &Call) -> Result<WidgetOptions, ApiError> {
    let return_to = match call.body_field("/data/attempt/return_to").or(call.body_field("/data/return_to")) {
        None => call.shared.url(""),
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            if text.len() > 2040 {
                return Err(ApiError::new(406, "ReturnURLTooLong", "return_to is longer than 2040 characters."));
            }
            match url::Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => text.to_string(),
                _ => return Err(ApiError::new(406, "ReturnURLInvalid", "return_to is not a valid http(s) URL.")),
            }
        }
    };
    let custom_fields = match call.body_field("/data/attempt/custom_fields") {
        None => json!({}),
        Some(value) if value.is_object() => {
            if value.to_string().len() > 1024 {
                return Err(ApiError::new(406, "CustomFieldsSizeTooBig", "custom_fields is larger than 1 KB."));
            }
            value.clone()
        }
        Some(_) => return Err(ApiError::new(406, "CustomFieldsFormatInvalid", "custom_fields must be an object.")),
    };
    let scopes = match call.body_field("/data/consent/scopes") {
        None => vec!["accounts".to_string(), "transactions".to_string()],
        Some(Value::Array(items)) => {
            let scopes: Vec<String> = items.iter().filter_map(Value::as_str).map(str::to_string).collect();
            let valid = !scopes.is_empty()
                && scopes.len() == items.len()
                && scopes.iter().all(|s| matches!(s.as_str(), "accounts" | "transactions" | "holder_info"));
            if !valid {
                return Err(ApiError::new(406, "AispConsentScopesInvalid", "Consent scopes are invalid."));
            }
            scopes
        }
        Some(_) => return Err(ApiError::new(406, "AispConsentScopesInvalid", "Consent scopes must be a list.")),
    };
    let from_date = match call.body_field("/data/consent/from_date") {
        None => None,
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                ApiError::new(400, "InvalidAispConsentFromDate", "consent.from_date must be YYYY-MM-DD.")
            })?;
            if date > call.now.date_naive() || date < call.now.date_naive() - ChronoDuration::days(365) {
                return Err(ApiError::new(
                    406,
                    "InvalidAispConsentFromDate",
                    "consent.from_date must be within the last 365 days.",
                ));
            }
            Some(text.to_string())
        }
    };
    Ok(WidgetOptions {
        return_to,
        custom_fields,
        scopes,
        from_date,
        include_sandboxes: call
            .body_field("/data/provider/include_sandboxes")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        return_error_class: call.body_field("/data/return_error_class").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn new_session(
    call: &Call,
    state: &mut SandboxState,
    kind: SessionKind,
    options: WidgetOptions,
    customer_id: u64,
) -> Value {
    let token = hex::encode(rand::random::<[u8; 20]>());
    let expires_at = call.now + ChronoDuration::minutes(SESSION_LIFETIME_MINUTES);
    state.sessions.retain(|_, session| session.expires_at > call.now && !session.completed);
    state.sessions.insert(
        token.clone(),
        SessionRec {
            kind,
            return_to: options.return_to,
            custom_fields: options.custom_fields,
            scopes: options.scopes,
            from_date: options.from_date,
            include_sandboxes: options.include_sandboxes,
            return_error_class: options.return_error_class,
            expires_at,
            completed: false,
        },
    );
    json!({
        "expires_at": state::timestamp(expires_at),
        "connect_url": call.shared.url(&format!("connect/{token}")),
        "customer_id": customer_id.to_string(),
    })
}

fn connect(call: &Call) -> ApiResult {
    let customer_id = id_value(call.body_field("/data/customer_id"))
        .ok_or_else(|| ApiError::new(400, "WrongRequestFormat", "`data.customer_id` is required."))?;
    for v5_key in ["provider_code", "include_fake_providers"] {
        if call.body_field(&format!("/data/{v5_key}")).is_some() {
            return Err(ApiError::new(
                400,
                "WrongRequestFormat",
                format!("`{v5_key}` is not a v6 parameter: use `provider.code` / `provider.include_sandboxes`."),
            ));
        }
    }
    let options = widget_options(call)?;
    let provider_code = call.body_field("/data/provider/code").and_then(Value::as_str).map(str::to_string);
    if let Some(code) = &provider_code {
        // Fake providers exist for this client only when it includes sandboxes.
        let visible = data::find_provider(code).filter(|p| options.include_sandboxes || !p.is_fake());
        if visible.is_none() {
            return Err(ApiError::new(404, "ProviderNotFound", format!("Provider with code '{code}' was not found.")));
        }
    }
    let mut state = call.shared.lock();
    if !state.customers.contains_key(&customer_id) {
        return Err(customer_not_found(&customer_id.to_string()));
    }
    let kind = SessionKind::Connect { customer_id, provider_code };
    Ok(Reply::data(new_session(call, &mut state, kind, options, customer_id)))
}

fn connection_not_found(id: &str) -> ApiError {
    ApiError::new(404, "ConnectionNotFound", format!("Connection with id: '{id}' was not found."))
}

fn connection_key(id: &str) -> Result<u64, ApiError> {
    id.parse::<u64>().map_err(|_| connection_not_found(id))
}

/// Refuses data access and refreshes once the consent has expired or was revoked.
pub(crate) fn check_consent(connection: &ConnectionRec, now: DateTime<Utc>) -> Result<(), ApiError> {
    match connection.current_consent().map(|consent| consent.state(now)) {
        Some(ConsentState::Active) => Ok(()),
        Some(ConsentState::Revoked) => Err(ApiError::new(
            406,
            "AispConsentRevoked",
            "The consent has been revoked. Reconnect to give a new consent.",
        )),
        Some(ConsentState::Expired) | None => {
            Err(ApiError::new(406, "AispConsentExpired", "The consent has expired. Reconnect to renew it."))
        }
    }
}

fn check_refresh_allowed(connection: &ConnectionRec, now: DateTime<Utc>) -> Result<(), ApiError> {
    check_not_processing(connection)?;
    check_consent(connection, now)?;
    if connection.status != ConnectionStatus::Active {
        return Err(ApiError::new(
            406,
            "InvalidCredentials",
            "The connection is inactive; reconnect it with valid credentials.",
        ));
    }
    if let Some(at) = connection.next_refresh_possible_at.filter(|at| now < *at) {
        return Err(ApiError::new(
            406,
            "ConnectionCannotBeRefreshed",
            format!("Connection cannot be refreshed before {}.", state::timestamp(at)),
        ));
    }
    Ok(())
}

/// One attempt at a time per connection.
pub(crate) fn check_not_processing(connection: &ConnectionRec) -> Result<(), ApiError> {
    if connection.is_processing() {
        return Err(ApiError::new(
            409,
            "ConnectionAlreadyProcessing",
            format!("Connection with id: '{}' is already being processed.", connection.id),
        ));
    }
    Ok(())
}

fn widget_session(call: &Call, id: &str, widget: Widget) -> ApiResult {
    let key = connection_key(id)?;
    let mut options = widget_options(call)?;
    let mut state = call.shared.lock();
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(id))?;
    match widget {
        Widget::Refresh => check_refresh_allowed(connection, call.now)?,
        Widget::Reconnect => check_not_processing(connection)?,
    }
    if call.body_field("/data/attempt/custom_fields").is_none() {
        options.custom_fields = connection.last_attempt.custom_fields.clone();
    }
    let customer_id = connection.customer_id;
    let kind = match widget {
        Widget::Reconnect => SessionKind::Reconnect { connection_id: key },
        Widget::Refresh => SessionKind::Refresh { connection_id: key },
    };
    Ok(Reply::data(new_session(call, &mut state, kind, options, customer_id)))
}

fn background_refresh(call: &Call, id: &str) -> ApiResult {
    let key = connection_key(id)?;
    let mut state = call.shared.lock();
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(id))?;
    check_refresh_allowed(connection, call.now)?;
    let day_ago = call.now - ChronoDuration::hours(24);
    let recent = connection.background_refreshes.iter().filter(|at| **at > day_ago).count();
    if connection.provider.regulated && recent >= BACKGROUND_REFRESHES_PER_DAY {
        return Err(ApiError::new(
            406,
            "BackgroundFetchLimitExceeded",
            "Background fetch limit (4 times in a 24 hour period) was exceeded. This restriction applies only to PSD2 providers.",
        ));
    }
    let custom_fields = connection.last_attempt.custom_fields.clone();
    let attempt = state.start_attempt(call.now, custom_fields);
    let attempt_id = attempt.id;
    let connection = state.connections.get_mut(&key).ok_or_else(|| connection_not_found(id))?;
    connection.last_attempt = attempt;
    connection.next_refresh_possible_at = None;
    connection.background_refreshes.retain(|at| *at > day_ago);
    connection.background_refreshes.push(call.now);
    // The answer shows the attempt as it starts; the data comes when it finishes.
    let connection = connection.clone();
    let answer = state.connection_json(&connection);
    // Nobody is there to type an SMS code during a background refresh.
    let interaction = if connection.provider.interactive() { Interaction::Unattended } else { Interaction::None };
    let callbacks = attempts::launch(call.shared, &mut state, key, attempt_id, Work::Refresh, interaction, call.now);
    let mut reply = Reply::data(answer);
    reply.callbacks = callbacks;
    Ok(reply)
}

// ------------------------------------------------------------------ connections & consents

fn list_connections(call: &Call) -> ApiResult {
    let customer_id = parse_id("customer_id", call.required_query("customer_id")?)?;
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    if !state.customers.contains_key(&customer_id) {
        return Err(customer_not_found(&customer_id.to_string()));
    }
    let mut matching = state.connections.range(from_id..).filter(|(_, c)| c.customer_id == customer_id);
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|(_, c)| state.connection_json(c)).collect();
    let next = matching.next().map(|(id, _)| call.next_page(*id));
    Ok(Reply::page(items, next))
}

fn show_connection(call: &Call, id: &str) -> ApiResult {
    let key = connection_key(id)?;
    let state = call.shared.lock();
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(id))?;
    check_owner(call, &state, connection)?;
    Ok(Reply::data(state.connection_json(connection)))
}

fn remove_connection(call: &Call, id: &str) -> ApiResult {
    let key = connection_key(id)?;
    let mut state = call.shared.lock();
    let connection = state.connections.remove(&key).ok_or_else(|| connection_not_found(id))?;
    let mut reply = Reply::data(json!({ "id": id, "removed": true }));
    reply.callbacks =
        vec![Callback::new("destroy", Some(key), connection.customer_id, &connection.last_attempt.custom_fields)];
    Ok(reply)
}

fn consent_connection<'a>(call: &Call, state: &'a SandboxState) -> Result<&'a ConnectionRec, ApiError> {
    let id = call
        .query("connection_id")
        .map(str::to_string)
        .or_else(|| id_value(call.body_field("/data/connection_id")).map(|id| id.to_string()))
        .ok_or_else(|| ApiError::new(400, "WrongRequestFormat", "`connection_id` is required."))?;
    let key = connection_key(&id)?;
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(&id))?;
    check_owner(call, state, connection)?;
    Ok(connection)
}

/// A connection belongs to exactly one customer: a request naming another customer
/// (`customer_id` in the query) does not see it, and an unknown customer is `CustomerNotFound`.
fn check_owner(call: &Call, state: &SandboxState, connection: &ConnectionRec) -> Result<(), ApiError> {
    let Some(text) = call.query("customer_id") else {
        return Ok(());
    };
    let customer_id = text.parse::<u64>().ok().filter(|id| state.customers.contains_key(id));
    match customer_id {
        None => Err(customer_not_found(text)),
        Some(id) if id != connection.customer_id => Err(connection_not_found(&connection.id.to_string())),
        Some(_) => Ok(()),
    }
}

fn list_consents(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    let connection = consent_connection(call, &state)?;
    let mut matching = connection.consents.iter().filter(|c| c.id >= from_id);
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|c| c.to_json(connection, call.now)).collect();
    let next = matching.next().map(|c| call.next_page(c.id));
    Ok(Reply::page(items, next))
}

fn consent_not_found(id: &str) -> ApiError {
    ApiError::new(404, "ConsentNotFound", format!("Consent with id: '{id}' was not found."))
}

fn show_consent(call: &Call, id: &str) -> ApiResult {
    let state = call.shared.lock();
    let connection = consent_connection(call, &state)?;
    let consent = connection.consents.iter().find(|c| c.id.to_string() == id).ok_or_else(|| consent_not_found(id))?;
    Ok(Reply::data(consent.to_json(connection, call.now)))
}

fn revoke_consent(call: &Call, id: &str) -> ApiResult {
    let mut state = call.shared.lock();
    let connection_id = consent_connection(call, &state)?.id;
    let connection =
        state.connections.get_mut(&connection_id).ok_or_else(|| connection_not_found(&connection_id.to_string()))?;
    let consent =
        connection.consents.iter_mut().find(|c| c.id.to_string() == id).ok_or_else(|| consent_not_found(id))?;
    if consent.revoked_at.is_some() {
        return Err(ApiError::new(409, "AispConsentAlreadyRevoked", "The consent is already revoked."));
    }
    consent.revoked_at = Some(call.now);
    let consent = consent.clone();
    let connection =
        state.connections.get(&connection_id).ok_or_else(|| connection_not_found(&connection_id.to_string()))?;
    Ok(Reply::data(consent.to_json(connection, call.now)))
}

// ------------------------------------------------------------------ accounts & transactions

fn data_connection<'a>(call: &Call, state: &'a SandboxState) -> Result<&'a ConnectionRec, ApiError> {
    let id = call.required_query("connection_id")?;
    let connection = state.connections.get(&connection_key(id)?).ok_or_else(|| connection_not_found(id))?;
    check_owner(call, state, connection)?;
    check_consent(connection, call.now)?;
    Ok(connection)
}

fn list_accounts(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    let connection = data_connection(call, &state)?;
    let mut matching = connection.accounts.iter().filter(|a| a.shape.id.parse::<u64>().is_ok_and(|id| id >= from_id));
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|a| a.to_json(connection.id)).collect();
    let next = matching.next().and_then(|a| a.shape.id.parse::<u64>().ok()).map(|id| call.next_page(id));
    Ok(Reply::page(items, next))
}

fn list_transactions(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    // v6: posted, non-duplicated rows by default; `pending=true` lists the pending rows only,
    // `duplicated=true` the duplicated ones only (a pending row is never flagged duplicated).
    let filter = match (call.flag("pending")?, call.flag("duplicated")?) {
        (false, false) => RowFilter::Posted,
        (true, false) => RowFilter::Pending,
        (false, true) => RowFilter::Duplicated,
        (true, true) => return Ok(Reply::page(Vec::new(), None)),
    };
    // Copy the (small) account shapes out, then generate rows without holding the lock.
    let shapes: Vec<(AccountShape, String)> = {
        let state = call.shared.lock();
        let connection = data_connection(call, &state)?;
        let account_filter = call.query("account_id");
        let shapes: Vec<(AccountShape, String)> = connection
            .accounts
            .iter()
            .filter(|a| account_filter.is_none_or(|id| a.shape.id == id))
            .map(|a| (a.shape.clone(), state::timestamp(a.created_at)))
            .collect();
        if let (Some(id), true) = (account_filter, shapes.is_empty()) {
            return Err(ApiError::new(404, "AccountNotFound", format!("Account with id: '{id}' was not found.")));
        }
        shapes
    };
    let refs: Vec<&AccountShape> = shapes.iter().map(|(shape, _)| shape).collect();
    let (rows, next_id) = data::page_rows(&refs, from_id, filter, per_page);
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(position, row)| {
            let (shape, created_at) = &shapes[position];
            data::transaction_json(shape, row, created_at)
        })
        .collect();
    Ok(Reply::page(items, next_id.map(|id| call.next_page(id))))
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
