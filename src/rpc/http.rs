//! HTTP routes: XML-RPC (`/xmlrpc/2/<service>` with integer fault codes, legacy `/xmlrpc/<service>` with
//! string ones), JSON-RPC (`/jsonrpc`, `/web/...`), and `GET /health`.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::App;
use crate::error::Error;
use crate::rpc::jsonrpc::{self, Sessions};
use crate::rpc::{fault, services, xmlrpc};
use crate::types::Value;

pub fn configure(cfg: &mut web::ServiceConfig) {
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

async fn xmlrpc_v2(app: web::Data<Arc<App>>, service: web::Path<String>, body: web::Bytes) -> HttpResponse {
    xml(handle_xmlrpc(&app, &service, &body, false).await)
}

async fn xmlrpc_legacy(app: web::Data<Arc<App>>, service: web::Path<String>, body: web::Bytes) -> HttpResponse {
    xml(handle_xmlrpc(&app, &service, &body, true).await)
}

async fn handle_xmlrpc(app: &Arc<App>, service: &str, body: &[u8], legacy: bool) -> String {
    let started = Instant::now();
    let request = match xmlrpc::decode(body) {
        Ok(r) => r,
        Err(e) => {
            fault::log(&e, "decode");
            return xmlrpc::encode_fault(&e, legacy);
        }
    };
    let what = describe_call(service, &request.method, &request.params);
    let outcome = services::dispatch(app, service, &request.method, request.params).await;
    let body = match outcome {
        Ok(value) => xmlrpc::encode_response(value),
        Err(e) => {
            fault::log(&e, &what);
            xmlrpc::encode_fault(&e, legacy)
        }
    };
    tracing::debug!(call = %what, elapsed_ms = started.elapsed().as_millis() as u64, "xmlrpc");
    body
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

async fn jsonrpc_call(app: web::Data<Arc<App>>, body: web::Bytes) -> HttpResponse {
    let request = match jsonrpc::parse(&body) {
        Ok(r) => r,
        Err(e) => return json(jsonrpc::error(serde_json::Value::Null, &e)),
    };
    let service = jsonrpc::object_param(&request.params, "service").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let method = jsonrpc::object_param(&request.params, "method").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let args = match jsonrpc::object_param(&request.params, "args").cloned().map(Value::from_json) {
        Some(Value::List(items)) => items,
        None => Vec::new(),
        Some(_) => return json(jsonrpc::error(request.id, &Error::application("params.args must be a list"))),
    };
    let what = describe_call(&service, &method, &args);
    match services::dispatch(&app, &service, &method, args).await {
        Ok(value) => json(jsonrpc::result(request.id, value.into_json())),
        Err(e) => {
            fault::log(&e, &what);
            json(jsonrpc::error(request.id, &e))
        }
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

fn session_of(req: &HttpRequest, sessions: &Sessions) -> Option<(String, crate::auth::Identity, String)> {
    let sid = req.cookie(SESSION_COOKIE)?.value().to_string();
    let (identity, login) = sessions.get(&sid)?;
    Some((sid, identity, login))
}

async fn web_authenticate(app: web::Data<Arc<App>>, sessions: web::Data<Sessions>, body: web::Bytes) -> HttpResponse {
    let request = match jsonrpc::parse(&body) {
        Ok(r) => r,
        Err(e) => return json(jsonrpc::error(serde_json::Value::Null, &e)),
    };
    let field = |k: &str| jsonrpc::object_param(&request.params, k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(login), Some(password)) = (field("login"), field("password")) else {
        return json(jsonrpc::error(request.id, &Error::access_denied()));
    };
    let login_for_auth = login.clone();
    let outcome = app.db(move |conn, app| app.auth.authenticate(conn, &login_for_auth, &password)).await;
    match outcome {
        Ok(Some(identity)) => {
            let sid = sessions.open(identity, login.clone());
            let info = jsonrpc::session_info(identity, &login, &app.db_name, &sid);
            let cookie = actix_web::cookie::Cookie::build(SESSION_COOKIE, sid).path("/").http_only(true).finish();
            HttpResponse::Ok()
                .content_type(ContentType::json())
                .cookie(cookie)
                .body(jsonrpc::result(request.id, info).to_string())
        }
        Ok(None) => json(jsonrpc::error(request.id, &Error::access_denied())),
        Err(e) => json(jsonrpc::error(request.id, &e)),
    }
}

async fn web_session_info(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let id = jsonrpc::parse(&body).map(|r| r.id).unwrap_or_default();
    match session_of(&req, &sessions) {
        Some((sid, identity, login)) => {
            json(jsonrpc::result(id, jsonrpc::session_info(identity, &login, &app.db_name, &sid)))
        }
        None => json(jsonrpc::session_expired(id)),
    }
}

async fn web_session_destroy(sessions: web::Data<Sessions>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let id = jsonrpc::parse(&body).map(|r| r.id).unwrap_or_default();
    if let Some((sid, _, _)) = session_of(&req, &sessions) {
        sessions.close(&sid);
    }
    json(jsonrpc::result(id, serde_json::Value::Null))
}

async fn web_call_kw(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    web_model_call(app, sessions, req, body, true).await
}

async fn web_call(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    web_model_call(app, sessions, req, body, false).await
}

async fn web_model_call(
    app: web::Data<Arc<App>>,
    sessions: web::Data<Sessions>,
    req: HttpRequest,
    body: web::Bytes,
    with_kwargs: bool,
) -> HttpResponse {
    let request = match jsonrpc::parse(&body) {
        Ok(r) => r,
        Err(e) => return json(jsonrpc::error(serde_json::Value::Null, &e)),
    };
    let Some((_, identity, _)) = session_of(&req, &sessions) else {
        return json(jsonrpc::session_expired(request.id));
    };
    let param = |k: &str| jsonrpc::object_param(&request.params, k);
    let model = param("model").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let method = param("method").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let args = match param("args").cloned().map(Value::from_json) {
        Some(Value::List(items)) => items,
        _ => Vec::new(),
    };
    let kwargs = if with_kwargs { jsonrpc::kwargs_of(param("kwargs")) } else { Default::default() };
    match services::call_model(&app, identity, &model, &method, args, kwargs).await {
        Ok(value) => json(jsonrpc::result(request.id, value.into_json())),
        Err(e) => {
            fault::log(&e, &format!("web {model}.{method}"));
            json(jsonrpc::error(request.id, &e))
        }
    }
}
