//! Odoo 19's External JSON-2 API: `POST /json/2/<model>/<method>` with `Authorization: bearer <API key>`,
//! an optional `X-Odoo-Database` header, the method's named arguments in a JSON object (`ids` and
//! `context` apart), the result as the plain JSON body and errors as HTTP statuses with Odoo's JSON error
//! object; `GET /web/version`; and the `/doc-bearer` listing of what a key may reach. Calls run on the
//! services' path (plan, then run), with the same ORM, access rules and limits as XML-RPC.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::App;
use crate::auth::Identity;
use crate::error::Error;
use crate::models;
use crate::orm::model::Model;
use crate::orm::signature::{self, Signature};
use crate::rpc::access::{Access, Client};
use crate::rpc::answer::Fault;
use crate::rpc::services::{self, Caller, ObjectCall};
use crate::rpc::{doc, fault};
use crate::types::Value;

/// Deepest nesting of lists and objects a body may have: XML-RPC's bound.
pub const MAX_DEPTH: usize = 64;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/json/2/{model}/{method}", web::post().to(call))
        .route("/json/2", web::route().to(not_a_call))
        .route("/json/2/{tail:.*}", web::route().to(not_a_call))
        .route("/web/version", web::get().to(version))
        .route("/json/version", web::get().to(version))
        .route("/doc-bearer/index.json", web::get().to(doc_index))
        .route("/doc-bearer/{model}.json", web::get().to(doc_model));
}

/// An error of the HTTP layer itself (werkzeug's exceptions in Odoo): a status and its description.
#[derive(Debug)]
struct HttpError {
    status: u16,
    message: String,
}

impl HttpError {
    fn new(status: u16, message: impl Into<String>) -> HttpError {
        HttpError { status, message: message.into() }
    }

    fn werkzeug_name(&self) -> &'static str {
        match self.status {
            400 => "werkzeug.exceptions.BadRequest",
            401 => "werkzeug.exceptions.Unauthorized",
            404 => "werkzeug.exceptions.NotFound",
            422 => "werkzeug.exceptions.UnprocessableEntity",
            _ => "werkzeug.exceptions.HTTPException",
        }
    }
}

impl From<HttpError> for Fault {
    /// Odoo's JSON error object for werkzeug's exception (`arguments` are its description and status); in
    /// the access log, a refused key is access denied, anything else a client error.
    fn from(e: HttpError) -> Fault {
        let body = fault::json2_body(e.werkzeug_name(), &e.message, serde_json::json!([e.message, e.status]));
        let error = if e.status == 401 { Error::access_denied() } else { Error::application(e.message) };
        Fault::json2_response(error, e.status, JSON, body.to_string())
    }
}

const JSON: &str = "application/json; charset=utf-8";

fn json_response(body: &serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().content_type(JSON).body(body.to_string())
}

/// Odoo's page for a database that its filter refuses (`X-Odoo-Database` naming another database).
fn unknown_database(db: &str) -> Fault {
    Fault::json2_response(
        Error::application(format!("No database {db:?} on this bridge")),
        404,
        "text/html; charset=utf-8",
        "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>No database is selected and the \
         requested URL was not found in the server-wide controllers.</p>\n<p>This bridge serves one database; \
         leave out the X-Odoo-Database header or name that database.</p>\n"
            .to_string(),
    )
}

/// Odoo's refusal of a body that is not JSON (the route is `type='json2'`).
fn unsupported_media_type() -> Fault {
    Fault::json2_response(
        Error::application("/json/2 takes a JSON body"),
        415,
        "text/html; charset=utf-8",
        "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media \
         Type</h1>\n<p>/json/2 takes a JSON body: send Content-Type: application/json.</p>\n"
            .to_string(),
    )
}

/// The database header and the content type, checked before the key as Odoo checks them.
fn check_request(app: &App, req: &HttpRequest, body: &[u8]) -> Result<(), Fault> {
    if let Some(db) = req.headers().get("X-Odoo-Database") {
        if db.as_bytes() != app.db_name.as_bytes() {
            return Err(unknown_database(&String::from_utf8_lossy(db.as_bytes())));
        }
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_json = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json && !body.is_empty() {
        return Err(unsupported_media_type());
    }
    Ok(())
}

/// The bearer token of `Authorization: bearer <token>` (the scheme in any case).
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Odoo's 401 for a request without a bearer key; the access log learns it was refused.
fn no_key(access: &Access) -> Fault {
    access.caller(Caller { denied: true, ..Caller::default() });
    HttpError::new(401, "User not authenticated, use an API Key with a Bearer Authorization header.").into()
}

/// The user of the request's bearer key, or the 401 Odoo answers; the access log learns who called.
async fn authenticate(app: &Arc<App>, req: &HttpRequest, access: &Access) -> Result<Identity, Fault> {
    let Some(key) = bearer_token(req).map(str::to_string) else {
        return Err(no_key(access));
    };
    let client = Client::of(req).limit_key();
    match app.db(move |conn, app| app.auth.check_bearer(conn, &key, client)).await {
        Ok(Some(identity)) => {
            access.caller(Caller { identity: Some(identity), ..Caller::default() });
            Ok(identity)
        }
        Ok(None) => {
            access.caller(Caller { denied: true, ..Caller::default() });
            Err(HttpError::new(401, "Invalid apikey").into())
        }
        Err(e) => Err(Fault::json2(e)),
    }
}

/// How deep lists and objects nest in `value`.
fn depth(value: &Value) -> usize {
    match value {
        Value::List(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Map(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The named arguments of the body: an object's members; anything else (a list, a number) names none, as
/// in Odoo.
fn named_arguments(body: &[u8]) -> Result<BTreeMap<String, Value>, HttpError> {
    if body.is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| HttpError::new(400, format!("could not parse the body as json: {e}")))?;
    if depth(&value) > MAX_DEPTH {
        return Err(HttpError::new(
            400,
            format!("could not parse the body as json: nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(match value {
        Value::Map(members) => members,
        _ => BTreeMap::new(),
    })
}

/// The signature of `method` on `model` as JSON-2 sees it, or Odoo's refusal: private (403), unknown
/// (404).
fn method_signature(model: &Model, method: &str) -> Result<&'static Signature, Fault> {
    if signature::is_private(method) {
        return Err(Fault::json2(Error::access(format!(
            "Private methods (such as '{}.{method}') cannot be called remotely.",
            model.name
        ))));
    }
    signature::generic(method)
        .or_else(|| models::buttons(model.name).iter().map(|(s, _)| s).find(|s| s.name == method))
        .ok_or_else(|| HttpError::new(404, format!("The method '{}.{method}' does not exist", model.name)).into())
}

/// Binds the named arguments to the method as Odoo's JSON-2 controller does: `ids` becomes the records
/// (refused for `@api.model` methods), `context` the call's context, the rest the method's parameters.
fn bind(
    model: &Model,
    signature: &Signature,
    mut named: BTreeMap<String, Value>,
) -> Result<(Vec<Value>, BTreeMap<String, Value>), Fault> {
    let ids = named.remove("ids");
    let context = named.remove("context");
    let has_ids = ids.as_ref().is_some_and(|ids| !ids.is_falsy());
    if signature.api_model && has_ids {
        return Err(HttpError::new(422, format!("cannot call {}.{} with ids", model.name, signature.name)).into());
    }
    signature.bind(&named).map_err(|message| Fault::from(HttpError::new(422, message)))?;
    match &context {
        None | Some(Value::Nil) | Some(Value::Map(_)) => {}
        Some(other) => {
            return Err(Fault::json2(Error::application(format!("context must be a dictionary, got {}", other.kind()))))
        }
    }
    if let Some(context) = context {
        named.insert("context".to_string(), context);
    }
    let args = if signature.api_model { Vec::new() } else { vec![ids.unwrap_or(Value::List(Vec::new()))] };
    Ok((args, named))
}

/// The model call a request names, or Odoo's refusal of it (told only once the key passed).
fn named_call(
    app: &App,
    model_name: &str,
    method: &str,
    body: &[u8],
) -> Result<(&'static Signature, ObjectCall), Fault> {
    let named = named_arguments(body)?;
    let model = app
        .registry
        .model(model_name)
        .map_err(|_| Fault::from(HttpError::new(404, format!("the model '{model_name}' does not exist"))))?;
    let signature = method_signature(model, method)?;
    let (args, kwargs) = bind(model, signature, named)?;
    Ok((signature, ObjectCall { model: model.name.to_string(), method: method.to_string(), args, kwargs }))
}

async fn call(
    app: web::Data<Arc<App>>,
    path: web::Path<(String, String)>,
    access: Access,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Fault> {
    let (model_name, method) = path.into_inner();
    access.describe("json2", format!("json2 {model_name}.{method}"));
    check_request(&app, &req, &body)?;
    // Without a key, nothing of the body is read.
    let key = bearer_token(&req).ok_or_else(|| no_key(&access))?.to_string();
    let (signature, call) = match named_call(&app, &model_name, &method, &body) {
        Ok(named) => named,
        // A call Odoo refuses: the key's answer first, then the refusal.
        Err(refusal) => {
            authenticate(&app, &req, &access).await?;
            return Err(refusal);
        }
    };
    // The key's check and the call in one trip (on the HTTP worker when it can answer), with Odoo 19's ORM
    // semantics: JSON-2 is Odoo 19's API (everything else answers as Odoo 17).
    let mut caller = Caller::default();
    let client = Client::of(&req).limit_key();
    let answer = services::call_with_bearer(&app, key, client, call, body.len(), &mut caller).await;
    let denied = caller.denied;
    access.caller(caller);
    match answer {
        Err(_) if denied => Err(HttpError::new(401, "Invalid apikey").into()),
        Err(e) => Err(Fault::json2(e)),
        // A method returning records answers their ids (`create` of one dict included).
        Ok(Value::Int(id)) if signature.returns_records() => Ok(json_response(&serde_json::json!([id]))),
        Ok(value) => value_response(&value),
    }
}

/// A method's answer written straight from its `Value` (`Value`'s `Serialize`), without building a
/// `serde_json::Value` per record first.
fn value_response(value: &Value) -> Result<HttpResponse, Fault> {
    let body = serde_json::to_vec(value).map_err(|e| Fault::json2(Error::internal("writing the JSON-2 answer", e)))?;
    Ok(HttpResponse::Ok().content_type(JSON).body(body))
}

/// `/json/2`, `/json/2/<anything else>` and any method but POST: Odoo's hint.
async fn not_a_call(access: Access) -> Result<HttpResponse, Fault> {
    access.describe("json2", "json2 (no model and method)");
    Err(HttpError::new(404, "Did you mean POST /json/2/<model>/<method>?").into())
}

/// `GET /web/version` (and `/json/version`): the Odoo 19 version whose JSON-2 API the bridge speaks.
async fn version() -> HttpResponse {
    json_response(
        &serde_json::json!({"version_info": services::JSON2_VERSION_INFO, "version": services::JSON2_SERVER_VERSION}),
    )
}

async fn doc_index(app: web::Data<Arc<App>>, access: Access, req: HttpRequest) -> Result<HttpResponse, Fault> {
    access.describe("json2", "doc index");
    authenticate(&app, &req, &access).await?;
    Ok(json_response(&doc::index(&app.registry)))
}

async fn doc_model(
    app: web::Data<Arc<App>>,
    path: web::Path<String>,
    access: Access,
    req: HttpRequest,
) -> Result<HttpResponse, Fault> {
    access.describe("json2", format!("doc {path}"));
    authenticate(&app, &req, &access).await?;
    let model = app
        .registry
        .model(&path)
        .map_err(|_| Fault::from(HttpError::new(404, "The requested URL was not found on the server.")))?;
    // Serialized as built: a method's parameters keep their order.
    Ok(HttpResponse::Ok().content_type(JSON).body(serde_json::to_string(&doc::model(model)).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn refusal_of(fault: Fault) -> (u16, String) {
        use actix_web::ResponseError;
        (fault.status_code().as_u16(), fault.error.message().to_string())
    }

    #[test]
    fn arguments_bind_as_odoo_19s_controller_binds_them() {
        let registry = models::registry();
        let link = registry.model("account.online.link").expect("link");
        let search = method_signature(link, "search").map_err(refusal_of).expect("search");
        let ids = Value::List(vec![Value::Int(1)]);
        let refused = bind(link, search, named(&[("ids", ids.clone()), ("domain", Value::List(vec![]))]));
        assert_eq!(
            refused.map_err(refusal_of).err(),
            Some((422, "cannot call account.online.link.search with ids".into()))
        );
        // `ids` becomes the records of a method on records, `context` the call's context.
        let read = method_signature(link, "read").map_err(refusal_of).expect("read");
        let context = Value::map([("lang", Value::str("en_US"))]);
        let (args, kwargs) = bind(link, read, named(&[("ids", ids.clone()), ("context", context.clone())]))
            .map_err(refusal_of)
            .expect("bound");
        assert_eq!((args, kwargs.get("context")), (vec![ids], Some(&context)));
        let not_a_dict = bind(link, read, named(&[("context", Value::str("x"))])).map_err(refusal_of).err();
        assert_eq!(not_a_dict.map(|(status, _)| status), Some(500));
        // Odoo 19's private and gone methods.
        assert_eq!(method_signature(link, "exists").map_err(refusal_of).err().map(|(s, _)| s), Some(403));
        assert_eq!(method_signature(link, "name_get").map_err(refusal_of).err().map(|(s, _)| s), Some(404));
        assert!(method_signature(link, "action_fetch_accounts").is_ok());
    }

    #[test]
    fn bodies_deeper_than_xmlrpc_allows_are_refused() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let body = format!("{{\"domain\": {deep}}}");
        let refused = named_arguments(body.as_bytes()).expect_err("too deep");
        assert_eq!(refused.status, 400);
        let ok = format!("{{\"domain\": {}{}}}", "[".repeat(MAX_DEPTH - 2), "]".repeat(MAX_DEPTH - 2));
        assert!(named_arguments(ok.as_bytes()).is_ok());
        // serde_json's own recursion limit stops a body far deeper before it is built.
        let abyss = "[".repeat(100_000);
        assert_eq!(named_arguments(abyss.as_bytes()).map(|_| ()).map_err(|e| e.status), Err(400));
        // A body that is not an object names no argument, as in Odoo.
        assert!(named_arguments(b"[1, 2]").expect("a list").is_empty());
    }
}
