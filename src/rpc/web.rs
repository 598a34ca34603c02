//! The browser's JSON-RPC routes, as OdooRPC and odooly use them: `/web/webclient/version_info`,
//! `/web/database/list`, the cookie-carrying `/web/session/*` (log in, session info, log out) and
//! `/web/dataset/*` (call a model method in the session). Every cookie-carrying route takes its body as
//! a [`WebBody`], which applies the [`WebPolicy`] first.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_core::future::LocalBoxFuture;

use crate::app::App;
use crate::auth::sessions::{self, Session};
use crate::error::Error;
use crate::rpc::access::{peer_of, Access, Client};
use crate::rpc::answer::{json, Fault};
use crate::rpc::fault::escaped;
use crate::rpc::jsonrpc;
use crate::rpc::services::{self, Caller};
use crate::types::Value;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/web/webclient/version_info", web::post().to(version_info))
        .route("/web/database/list", web::post().to(database_list))
        .route("/web/session/authenticate", web::post().to(authenticate))
        .route("/web/session/get_session_info", web::post().to(session_info))
        .route("/web/session/destroy", web::post().to(session_destroy))
        .route("/web/dataset/call_kw", web::post().to(call_kw))
        .route("/web/dataset/call_kw/{tail:.*}", web::post().to(call_kw))
        .route("/web/dataset/call", web::post().to(call));
}

const SESSION_COOKIE: &str = "session_id";

/// What the cookie-carrying `/web/session/*` and `/web/dataset/*` routes accept from a browser, against
/// cross-site request forgery: a JSON body (a cross-site form or `no-cors` fetch cannot send
/// `Content-Type: application/json`), an `Origin`, when sent, of this bridge (its public URL or the
/// `Host` it was reached by), and a `SameSite=Lax` cookie, `Secure` when the public URL is https or a
/// trusted proxy says the request came over https.
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

    /// Refuses a request a browser may have sent from another site.
    fn admit(&self, req: &HttpRequest, body: &[u8]) -> Result<(), Fault> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let is_json = content_type
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            let e = Error::application("This route accepts only JSON-RPC requests (Content-Type: application/json).");
            return Err(Fault::jsonrpc_with_status(request_id(body), e, StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let Some(origin) = req.headers().get(header::ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().unwrap_or("(not text)");
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
        let same_host = url::Url::parse(origin).ok().is_some_and(|o| {
            let authority = match o.port() {
                Some(port) => format!("{}:{port}", o.host_str().unwrap_or("")),
                None => o.host_str().unwrap_or("").to_string(),
            };
            host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
        });
        if same_host || self.public_origin.as_deref() == Some(origin) {
            return Ok(());
        }
        tracing::info!(origin = %escaped(origin), peer = %peer_of(req), "cross-origin request refused");
        let e =
            Error::access("Cross-origin request refused: the Origin is neither this bridge's public URL nor its host.");
        Err(Fault::jsonrpc_with_status(request_id(body), e, StatusCode::FORBIDDEN))
    }
}

/// The body of a request to a cookie-carrying route, once the [`WebPolicy`] admitted it.
pub struct WebBody(web::Bytes);

impl FromRequest for WebBody {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<WebBody, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await?;
            let policy = req
                .app_data::<web::Data<WebPolicy>>()
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("no web policy configured"))?;
            policy.admit(&req, &body)?;
            Ok(WebBody(body))
        })
    }
}

/// The JSON-RPC `id` of a body, or null.
fn request_id(body: &[u8]) -> serde_json::Value {
    jsonrpc::parse(body).map(|r| r.id).unwrap_or_default()
}

async fn version_info(access: Access, body: web::Bytes) -> HttpResponse {
    access.describe("jsonrpc", "web.webclient.version_info");
    json(jsonrpc::result(request_id(&body), services::version().into_json()))
}

async fn database_list(app: web::Data<Arc<App>>, access: Access, body: web::Bytes) -> HttpResponse {
    access.describe("jsonrpc", "web.database.list");
    json(jsonrpc::result(request_id(&body), serde_json::json!([app.db_name])))
}

/// The request's live session (`auth::sessions`: stored in the database, so every replica knows it and a
/// restart keeps it; checked against the user's current state on every call, so a session whose user was
/// disabled, or whose key was revoked or password changed, is gone).
async fn live_session(app: &Arc<App>, req: &HttpRequest) -> Result<Option<(String, Session)>, Error> {
    let Some(sid) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) else { return Ok(None) };
    let lookup = sid.clone();
    let session = app.db(move |conn, app| app.auth.session(conn, &lookup)).await?;
    Ok(session.map(|session| (sid, session)))
}

async fn authenticate(
    app: web::Data<Arc<App>>,
    policy: web::Data<WebPolicy>,
    access: Access,
    Client(client): Client,
    WebBody(body): WebBody,
) -> Result<HttpResponse, Fault> {
    access.describe("jsonrpc", "web.session.authenticate");
    let request = jsonrpc::parse(&body).map_err(|e| Fault::jsonrpc(serde_json::Value::Null, e))?;
    let field = |k: &str| jsonrpc::object_param(&request.params, k).and_then(|v| v.as_str()).map(str::to_string);
    // Odoo's `/web/session/authenticate` answers an unknown database with AccessError "Database not found.".
    if let Some(db) = field("db").filter(|db| *db != app.db_name) {
        let message = format!("Database not found: {db:?} (this bridge serves the database {:?}).", app.db_name);
        return Err(Fault::jsonrpc(request.id, Error::access(message)));
    }
    let mut caller = Caller { login: field("login"), ..Caller::default() };
    let (Some(login), Some(password)) = (field("login"), field("password")) else {
        access.caller(Caller { denied: true, ..caller });
        return Err(Fault::jsonrpc(request.id, Error::access_denied()));
    };
    let login_for_auth = login.clone();
    let throttle_key = client.limit_key();
    let outcome = app
        .db(move |conn, app| {
            let found = app.auth.authenticate_credential(conn, &login_for_auth, &password, throttle_key)?;
            found
                .map(|(identity, hash)| Ok((identity, sessions::open(conn, identity, &login_for_auth, &hash)?)))
                .transpose()
        })
        .await;
    let (identity, sid) = match outcome {
        Ok(Some(found)) => found,
        Ok(None) => {
            access.caller(Caller { denied: true, ..caller });
            return Err(Fault::jsonrpc(request.id, Error::access_denied()));
        }
        Err(e) => {
            access.caller(caller);
            return Err(Fault::jsonrpc(request.id, e));
        }
    };
    caller.identity = Some(identity);
    access.caller(caller);
    let info = jsonrpc::session_info(identity, &login, &app.db_name, &sid);
    let cookie = actix_web::cookie::Cookie::build(SESSION_COOKIE, sid)
        .path("/")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .secure(policy.secure_cookie || client.https)
        .finish();
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .cookie(cookie)
        .body(jsonrpc::result(request.id, info).to_string()))
}

async fn session_info(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    access: Access,
    WebBody(body): WebBody,
) -> Result<HttpResponse, Fault> {
    access.describe("jsonrpc", "web.session.get_session_info");
    let id = request_id(&body);
    match live_session(&app, &req).await {
        Ok(Some((sid, session))) => {
            access.caller(Caller { identity: Some(session.identity), ..Caller::default() });
            Ok(json(jsonrpc::result(id, jsonrpc::session_info(session.identity, &session.login, &app.db_name, &sid))))
        }
        Ok(None) => Err(Fault::session_expired(id)),
        Err(e) => Err(Fault::jsonrpc(id, e)),
    }
}

async fn session_destroy(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    access: Access,
    WebBody(body): WebBody,
) -> Result<HttpResponse, Fault> {
    access.describe("jsonrpc", "web.session.destroy");
    let id = request_id(&body);
    if let Some(sid) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) {
        app.db(move |conn, _| sessions::close(conn, &sid)).await.map_err(|e| Fault::jsonrpc(id.clone(), e))?;
    }
    Ok(json(jsonrpc::result(id, serde_json::Value::Null)))
}

async fn call_kw(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    access: Access,
    body: WebBody,
) -> Result<HttpResponse, Fault> {
    model_call(&app, &req, &access, body, true).await
}

async fn call(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    access: Access,
    body: WebBody,
) -> Result<HttpResponse, Fault> {
    model_call(&app, &req, &access, body, false).await
}

/// `/web/dataset/call_kw` (`with_kwargs`) and `/web/dataset/call`: a model method in the session's name.
async fn model_call(
    app: &Arc<App>,
    req: &HttpRequest,
    access: &Access,
    WebBody(body): WebBody,
    with_kwargs: bool,
) -> Result<HttpResponse, Fault> {
    let request = jsonrpc::parse(&body).map_err(|e| Fault::jsonrpc(serde_json::Value::Null, e))?;
    let param = |k: &str| jsonrpc::object_param(&request.params, k);
    let model = param("model").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let method = param("method").and_then(|v| v.as_str()).unwrap_or("").to_string();
    access.describe("jsonrpc", format!("web {model}.{method}"));
    let identity = match live_session(app, req).await {
        Ok(Some((_, session))) => session.identity,
        Ok(None) => {
            access.caller(Caller { denied: true, ..Caller::default() });
            return Err(Fault::session_expired(request.id));
        }
        Err(e) => return Err(Fault::jsonrpc(request.id, e)),
    };
    access.caller(Caller { identity: Some(identity), ..Caller::default() });
    let args = match param("args").cloned().map(Value::from_json) {
        Some(Value::List(items)) => items,
        _ => Vec::new(),
    };
    let kwargs = if with_kwargs { jsonrpc::kwargs_of(param("kwargs")) } else { Default::default() };
    match services::call_session_model(app, identity, &model, &method, args, kwargs).await {
        Ok(value) => Ok(json(jsonrpc::result(request.id, value.into_json()))),
        Err(e) => Err(Fault::jsonrpc(request.id, e)),
    }
}
