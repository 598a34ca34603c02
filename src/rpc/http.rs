//! HTTP routes: XML-RPC (`/xmlrpc/2/<service>` with integer fault codes, legacy `/xmlrpc/<service>` with
//! string ones), JSON-RPC (`/jsonrpc`), the browser's `/web/...` routes (`rpc::web`), and the operator's
//! `/health`, `/health/ready` and `/metrics` (`rpc::ops`).
//! Every RPC route describes itself to its [`Access`] and answers a failure with a [`Fault`]; the access
//! middleware (`rpc::access`) writes the access line.

use std::sync::Arc;

use actix_web::{web, HttpResponse};

use crate::app::App;
use crate::error::Error;
use crate::rpc::access::{Access, Client};
use crate::rpc::answer::{json, xml, Fault};
use crate::rpc::services::{self, Caller};
use crate::rpc::{jsonrpc, xmlrpc};
use crate::types::Value;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Odoo's three services by name first: a static path is matched by comparing it, where the
    // `{service}` pattern below (kept for other names, which get Odoo's fault) runs a regex per request.
    for (prefix, legacy) in [("/xmlrpc/2", false), ("/xmlrpc", true)] {
        for service in ["object", "common", "db"] {
            let handler = move |app: web::Data<Arc<App>>, access: Access, client: Client, body: web::Bytes| async move {
                xmlrpc_call(&app, service, &body, legacy, &access, client).await
            };
            cfg.route(&format!("{prefix}/{service}"), web::post().to(handler));
        }
    }
    cfg.route("/xmlrpc/2/{service}", web::post().to(xmlrpc_v2))
        .route("/xmlrpc/{service}", web::post().to(xmlrpc_legacy))
        .route("/jsonrpc", web::post().to(jsonrpc_call));
    crate::rpc::web::configure(cfg);
    crate::rpc::json2::configure(cfg);
    crate::rpc::ops::configure(cfg);
}

async fn xmlrpc_v2(
    app: web::Data<Arc<App>>,
    service: web::Path<String>,
    access: Access,
    client: Client,
    body: web::Bytes,
) -> Result<HttpResponse, Fault> {
    xmlrpc_call(&app, &service, &body, false, &access, client).await
}

async fn xmlrpc_legacy(
    app: web::Data<Arc<App>>,
    service: web::Path<String>,
    access: Access,
    client: Client,
    body: web::Bytes,
) -> Result<HttpResponse, Fault> {
    xmlrpc_call(&app, &service, &body, true, &access, client).await
}

async fn xmlrpc_call(
    app: &Arc<App>,
    service: &str,
    body: &[u8],
    legacy: bool,
    access: &Access,
    Client(client): Client,
) -> Result<HttpResponse, Fault> {
    access.describe("xmlrpc", format!("{service}.(undecodable)"));
    let request = xmlrpc::decode(body).map_err(|e| Fault::xmlrpc(e, legacy))?;
    access.describe("xmlrpc", describe_call(service, &request.method, &request.params));
    let mut caller = Caller::default();
    let (method, params, bytes) = (&request.method, request.params, body.len());
    let outcome = services::dispatch(app, service, method, params, bytes, client.limit_key(), &mut caller).await;
    access.caller(caller);
    Ok(xml(xmlrpc::encode_response(outcome.map_err(|e| Fault::xmlrpc(e, legacy))?)))
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

async fn jsonrpc_call(
    app: web::Data<Arc<App>>,
    access: Access,
    Client(client): Client,
    body: web::Bytes,
) -> Result<HttpResponse, Fault> {
    access.describe("jsonrpc", "(unparsable)");
    let request = jsonrpc::parse(&body).map_err(|e| Fault::jsonrpc(serde_json::Value::Null, e))?;
    let text = |key: &str| jsonrpc::object_param(&request.params, key).and_then(|v| v.as_str()).unwrap_or("");
    let (service, method) = (text("service").to_string(), text("method").to_string());
    access.describe("jsonrpc", format!("{service}.{method}"));
    let args = match jsonrpc::object_param(&request.params, "args").cloned().map(Value::from_json) {
        Some(Value::List(items)) => items,
        None => Vec::new(),
        Some(_) => return Err(Fault::jsonrpc(request.id, Error::application("params.args must be a list"))),
    };
    access.describe("jsonrpc", describe_call(&service, &method, &args));
    let mut caller = Caller::default();
    let outcome = services::dispatch(&app, &service, &method, args, body.len(), client.limit_key(), &mut caller).await;
    access.caller(caller);
    match outcome {
        Ok(value) => Ok(json(jsonrpc::result(request.id, value.into_json()))),
        Err(e) => Err(Fault::jsonrpc(request.id, e)),
    }
}
