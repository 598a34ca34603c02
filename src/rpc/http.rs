//! HTTP routes: XML-RPC (`/xmlrpc/2/<service>` with integer fault codes, legacy `/xmlrpc/<service>` with
//! string ones), JSON-RPC (`/jsonrpc`, `/web/...`), and `GET /health`.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::App;
use crate::error::Error;
use crate::rpc::fault::escaped;
use crate::rpc::jsonrpc::{self, Session, Sessions};
use crate::rpc::services::Caller;
use crate::rpc::{fault, services, xmlrpc};
use crate::types::Value;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Odoo's three services by name first: a static path is matched by comparing it, where the
    // `{service}` pattern below (kept for other names, which get Odoo's fault) runs a regex per request.
    for (prefix, legacy) in [("/xmlrpc/2", false), ("/xmlrpc", true)] {
        for service in ["object", "common", "db"] {
            let handler = move |app: web::Data<Arc<App>>, req: HttpRequest, body: web::Bytes| async move {
                xml(handle_xmlrpc(&app, service, &body, legacy, &peer_of(&req)).await)
            };
            cfg.route(&format!("{prefix}/{service}"), web::post().to(handler));
        }
    }
    cfg.route("/xmlrpc/2/{service}", web::post().to(xmlrpc_v2))
        .route("/xmlrpc/{service}", web::post().to(xmlrpc_legacy))
        .route("/jsonrpc", web::post().to(jsonrpc_call))
        .route("/web/webclient/version_info", web::post().to(web_version_info))
        .route("/web/database/list", web::post().to(web_database_list))
        .route("/web/session/authenticate", web::post().to(web_authenticate))
        .route("/web/session/get_session_info", web::post().to(web_session_info))
        .route("/web/session/destroy", web::post().to(web_session_destroy))
        .route("/web/dataset/call_kw", web::post().to(web_call_kw))
        .route("/web/dataset/call_kw/{tail:.*}", web::post().to(web_call_kw))
        .route("/web/dataset/call", web::post().to(web_call))
        .route("/health", web::get().to(health));
}

async fn health(app: web::Data<Arc<App>>) -> HttpResponse {
    match app
        .db(|conn, _| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1").map_err(Error::from)
        })
        .await
    {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok", "version": services::SERVER_VERSION})),
        Err(e) => {
            fault::log(&e, "health");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "database unavailable"}))
        }
    }
}

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/xml; charset=utf-8").body(body)
}

async fn xmlrpc_v2(
    app: web::Data<Arc<App>>,
    service: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    xml(handle_xmlrpc(&app, &service, &body, false, &peer_of(&req)).await)
}

async fn xmlrpc_legacy(
    app: web::Data<Arc<App>>,
    service: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    xml(handle_xmlrpc(&app, &service, &body, true, &peer_of(&req)).await)
}

async fn handle_xmlrpc(app: &Arc<App>, service: &str, body: &[u8], legacy: bool, peer: &str) -> String {
    let started = Instant::now();
    let mut caller = Caller::default();
    let request = match xmlrpc::decode(body) {
        Ok(r) => r,
        Err(e) => {
            let what = format!("{service}.(undecodable)");
            fault::log(&e, &what);
            access_log("xmlrpc", &what, &caller, peer, Some(&e), started);
            return xmlrpc::encode_fault(&e, legacy);
        }
    };
    let what = describe_call(service, &request.method, &request.params);
    let outcome = services::dispatch(app, service, &request.method, request.params, body.len(), &mut caller).await;
    let error = outcome.as_ref().err();
    if let Some(e) = error {
        fault::log(e, &what);
    }
    access_log("xmlrpc", &what, &caller, peer, error, started);
    match outcome {
        Ok(value) => xmlrpc::encode_response(value),
        Err(e) => xmlrpc::encode_fault(&e, legacy),
    }
}

/// The client's socket address (not a forwarded-for header, which the client writes itself).
fn peer_of(req: &HttpRequest) -> String {
    req.peer_addr().map_or_else(|| "-".to_string(), |a| a.to_string())
}

/// The access line of one RPC request, at info: what was called, by whom (uid and company, 0 when not
/// authenticated), from where, the fault code (0 for success) and the time taken. Refused credentials
/// log "access denied" with the login the caller gave. Client-supplied names are escaped; the fields
/// stay separate so a JSON log format keeps them apart.
fn access_log(
    protocol: &'static str,
    what: &str,
    caller: &Caller,
    peer: &str,
    error: Option<&Error>,
    started: Instant,
) {
    let uid = caller.identity.map(|i| i.uid).or(caller.claimed_uid).unwrap_or(0);
    let company = caller.identity.map_or(0, |i| i.company_id);
    let fault = error.map_or(0, |e| fault::int_code(e.kind()));
    let ms = started.elapsed().as_millis() as u64;
    let call = escaped(what);
    if caller.denied {
        let login = escaped(caller.login.as_deref().unwrap_or("-"));
        tracing::info!(target: "bankbridge::access", protocol, call = %call, login = %login, uid, peer = %peer, fault, ms, "access denied");
    } else {
        tracing::info!(target: "bankbridge::access", protocol, call = %call, uid, company, peer = %peer, fault, ms, "access");
    }
}

/// `service.method` plus the model and model method for `object` calls; never arguments or credentials.
fn describe_call(service: &str, method: &str, params: &[Value]) -> String {
    match (service, params.get(3).and_then(Value::as_str), params.get(4).and_then(Value::as_str)) {
        ("object", Some(model), Some(model_method)) => {
            format!("object.{method} {model}.{model_method}")
        }
        _ => format!("{service}.{method}"),
    }
}

fn json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(body.to_string())
}

async fn jsonrpc_call(app: web::Data<Arc<App>>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let started = Instant::now();
    let peer = peer_of(&req);
    let mut caller = Caller::default();
    let request = match jsonrpc::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            access_log("jsonrpc", "(unparsable)", &caller, &peer, Some(&e), started);
            return json(jsonrpc::error(serde_json::Value::Null, &e));
        }
    };
    let service = jsonrpc::object_param(&request.params, "service").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let method = jsonrpc::object_param(&request.params, "method").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let args = match jsonrpc::object_param(&request.params, "args").cloned().map(Value::from_json) {
        Some(Value::List(items)) => items,
        None => Vec::new(),
        Some(_) => {
            let e = Error::application("params.args must be a list");
            access_log("jsonrpc", &format!("{service}.{method}"), &caller, &peer, Some(&e), started);
            return json(jsonrpc::error(request.id, &e));
        }
    };
    let what = describe_call(&service, &method, &args);
    let outcome = services::dispatch(&app, &service, &method, args, body.len(), &mut caller).await;
    let error = outcome.as_ref().err();
    if let Some(e) = error {
        fault::log(e, &what);
    }
    access_log("jsonrpc", &what, &caller, &peer, error, started);
    match outcome {
        Ok(value) => json(jsonrpc::result(request.id, value.into_json())),
        Err(e) => json(jsonrpc::error(request.id, &e)),
    }
}

async fn web_version_info(body: web::Bytes) -> HttpResponse {
    let id = jsonrpc::parse(&body).map(|r| r.id).unwrap_or_default();
    json(jsonrpc::result(id, services::version().into_json()))
}

async fn web_database_list(app: web::Data<Arc<App>>, body: web::Bytes) -> HttpResponse {
    let id = jsonrpc::parse(&body).map(|r| r.id).unwrap_or_default();
    json(jsonrpc::result(id, serde_json::json!([app.db_name])))
}

const SESSION_COOKIE: &str = "session_id";

/// What the cookie-carrying `/web/session/*` and `/web/dataset/*` routes accept from a browser, against
/// cross-site request forgery: a JSON body (a cross-site form or `no-cors` fetch cannot send
/// `Content-Type: application/json`), an `Origin`, when sent, of this bridge (its public URL or the
/// `Host` it was reached by), and a `SameSite=Lax` cookie, `Secure` when the public URL is https.
#[derive(Clone, Debug)]
pub struct WebPolicy {
    /// `scheme://host[:port]` of the public URL.
    public_origin: Option<String>,
    secure_cookie: bool,
}

impl WebPolicy {
    pub fn new(public_url: &str) -> WebPolicy {
        let parsed = url::Url::parse(public_url).ok();
        WebPolicy {
            public_origin: parsed.as_ref().map(|u| u.origin().ascii_serialization()),
            secure_cookie: parsed.is_some_and(|u| u.scheme() == "https"),
        }
    }

    /// The refusal of a request a browser may have sent from another site, if it is one.
    fn refusal(&self, req: &HttpRequest, body: &[u8]) -> Option<HttpResponse> {
        let content_type = req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let is_json = content_type
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            let e = Error::application("This route accepts only JSON-RPC requests (Content-Type: application/json).");
            return Some(
                HttpResponse::UnsupportedMediaType()
                    .content_type(ContentType::json())
                    .body(jsonrpc::error(request_id(body), &e).to_string()),
            );
        }
        let origin = req.headers().get(actix_web::http::header::ORIGIN)?;
        let origin = origin.to_str().unwrap_or("(not text)");
        let host = req.headers().get(actix_web::http::header::HOST).and_then(|h| h.to_str().ok());
        let same_host = url::Url::parse(origin).ok().is_some_and(|o| {
            let authority = match o.port() {
                Some(port) => format!("{}:{port}", o.host_str().unwrap_or("")),
                None => o.host_str().unwrap_or("").to_string(),
            };
            host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
        });
        if same_host || self.public_origin.as_deref() == Some(origin) {
            return None;
        }
        tracing::info!(origin = %escaped(origin), peer = %peer_of(req), "cross-origin request refused");
        let e =
            Error::access("Cross-origin request refused: the Origin is neither this bridge's public URL nor its host.");
        Some(
            HttpResponse::Forbidden()
                .content_type(ContentType::json())
                .body(jsonrpc::error(request_id(body), &e).to_string()),
        )
    }
}

fn request_id(body: &[u8]) -> serde_json::Value {
    jsonrpc::parse(body).map(|r| r.id).unwrap_or_default()
}

fn session_of(req: &HttpRequest, sessions: &Sessions) -> Option<(String, Session)> {
    let sid = req.cookie(SESSION_COOKIE)?.value().to_string();
    let session = sessions.get(&sid)?;
    Some((sid, session))
}

/// The request's session, checked against the user's live state (active, credential still stored);
/// a session whose user was disabled, or whose key was revoked or password changed, is closed here.
async fn live_session(
    app: &Arc<App>,
    req: &HttpRequest,
    sessions: &Sessions,
) -> Result<Option<(String, Session)>, Error> {
    let Some((sid, mut session)) = session_of(req, sessions) else { return Ok(None) };
    let (uid, hash) = (session.identity.uid, session.credential_hash.clone());
    match app.db(move |conn, app| app.auth.check_session(conn, uid, &hash)).await {
        Ok(identity) => {
            session.identity = identity;
            Ok(Some((sid, session)))
        }
        Err(e) if e.kind() == crate::error::ErrorKind::AccessDenied => {
            sessions.close(&sid);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn web_authenticate(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    policy: web::Data<WebPolicy>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    const WHAT: &str = "web.session.authenticate";
    if let Some(refused) = policy.refusal(&req, &body) {
        return refused;
    }
    let started = Instant::now();
    let peer = peer_of(&req);
    let mut caller = Caller::default();
    let request = match jsonrpc::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            access_log("jsonrpc", WHAT, &caller, &peer, Some(&e), started);
            return json(jsonrpc::error(serde_json::Value::Null, &e));
        }
    };
    let field = |k: &str| jsonrpc::object_param(&request.params, k).and_then(|v| v.as_str()).map(str::to_string);
    // Odoo's `/web/session/authenticate` answers an unknown database with AccessError "Database not found.".
    if let Some(db) = field("db").filter(|db| *db != app.db_name) {
        let message = format!("Database not found: {db:?} (this bridge serves the database {:?}).", app.db_name);
        let e = Error::access(message);
        access_log("jsonrpc", WHAT, &caller, &peer, Some(&e), started);
        return json(jsonrpc::error(request.id, &e));
    }
    caller.login = field("login");
    let (Some(login), Some(password)) = (field("login"), field("password")) else {
        caller.denied = true;
        let e = Error::access_denied();
        access_log("jsonrpc", WHAT, &caller, &peer, Some(&e), started);
        return json(jsonrpc::error(request.id, &e));
    };
    let login_for_auth = login.clone();
    let outcome = app.db(move |conn, app| app.auth.authenticate_credential(conn, &login_for_auth, &password)).await;
    let response = match &outcome {
        Ok(Some((identity, credential_hash))) => {
            caller.identity = Some(*identity);
            let session =
                Session { identity: *identity, login: login.clone(), credential_hash: credential_hash.clone() };
            let sid = sessions.open(session);
            let info = jsonrpc::session_info(*identity, &login, &app.db_name, &sid);
            let cookie = actix_web::cookie::Cookie::build(SESSION_COOKIE, sid)
                .path("/")
                .http_only(true)
                .same_site(actix_web::cookie::SameSite::Lax)
                .secure(policy.secure_cookie)
                .finish();
            HttpResponse::Ok()
                .content_type(ContentType::json())
                .cookie(cookie)
                .body(jsonrpc::result(request.id, info).to_string())
        }
        Ok(None) => {
            caller.denied = true;
            json(jsonrpc::error(request.id, &Error::access_denied()))
        }
        Err(e) => json(jsonrpc::error(request.id, e)),
    };
    let denied = Error::access_denied();
    let error = match &outcome {
        Ok(Some(_)) => None,
        Ok(None) => Some(&denied),
        Err(e) => Some(e),
    };
    access_log("jsonrpc", WHAT, &caller, &peer, error, started);
    response
}

async fn web_session_info(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    policy: web::Data<WebPolicy>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refused) = policy.refusal(&req, &body) {
        return refused;
    }
    let id = request_id(&body);
    match live_session(&app, &req, &sessions).await {
        Ok(Some((sid, session))) => {
            json(jsonrpc::result(id, jsonrpc::session_info(session.identity, &session.login, &app.db_name, &sid)))
        }
        Ok(None) => json(jsonrpc::session_expired(id)),
        Err(e) => json(jsonrpc::error(id, &e)),
    }
}

async fn web_session_destroy(
    sessions: web::Data<Sessions>,
    policy: web::Data<WebPolicy>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refused) = policy.refusal(&req, &body) {
        return refused;
    }
    let id = request_id(&body);
    if let Some((sid, _)) = session_of(&req, &sessions) {
        sessions.close(&sid);
    }
    json(jsonrpc::result(id, serde_json::Value::Null))
}

async fn web_call_kw(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    policy: web::Data<WebPolicy>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    web_model_call(app, sessions, policy, req, body, true).await
}

async fn web_call(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    policy: web::Data<WebPolicy>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    web_model_call(app, sessions, policy, req, body, false).await
}

/// `/web/dataset/call_kw` (`with_kwargs`) and `/web/dataset/call`, behind the session routes' policy.
async fn web_model_call(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    policy: web::Data<WebPolicy>,
    req: HttpRequest,
    body: web::Bytes,
    with_kwargs: bool,
) -> HttpResponse {
    if let Some(refused) = policy.refusal(&req, &body) {
        return refused;
    }
    let request = match jsonrpc::parse(&body) {
        Ok(r) => r,
        Err(e) => return json(jsonrpc::error(serde_json::Value::Null, &e)),
    };
    let started = Instant::now();
    let peer = peer_of(&req);
    let mut caller = Caller::default();
    let param = |k: &str| jsonrpc::object_param(&request.params, k);
    let model = param("model").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let method = param("method").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let what = format!("web {model}.{method}");
    let identity = match live_session(&app, &req, &sessions).await {
        Ok(Some((_, session))) => session.identity,
        Ok(None) => {
            caller.denied = true;
            access_log("jsonrpc", &what, &caller, &peer, Some(&Error::access_denied()), started);
            return json(jsonrpc::session_expired(request.id));
        }
        Err(e) => {
            access_log("jsonrpc", &what, &caller, &peer, Some(&e), started);
            return json(jsonrpc::error(request.id, &e));
        }
    };
    caller.identity = Some(identity);
    let args = match param("args").cloned().map(Value::from_json) {
        Some(Value::List(items)) => items,
        _ => Vec::new(),
    };
    let kwargs = if with_kwargs { jsonrpc::kwargs_of(param("kwargs")) } else { Default::default() };
    let outcome = services::call_model(&app, identity, &model, &method, args, kwargs).await;
    let error = outcome.as_ref().err();
    if let Some(e) = error {
        fault::log(e, &what);
    }
    access_log("jsonrpc", &what, &caller, &peer, error, started);
    match outcome {
        Ok(value) => json(jsonrpc::result(request.id, value.into_json())),
        Err(e) => json(jsonrpc::error(request.id, &e)),
    }
}
