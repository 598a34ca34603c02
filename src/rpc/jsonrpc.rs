//! JSON-RPC 2.0 as Odoo speaks it: `/jsonrpc` with `{service, method, args}`, plus the `/web/...` session
//! routes that OdooRPC and odooly use to log in and call models.

use std::collections::BTreeMap;

use serde_json::json;

use crate::auth::Identity;
use crate::error::Error;
use crate::rpc::fault;

/// The envelope of a JSON-RPC request; `params` is kept raw and decoded per route.
#[derive(serde::Deserialize)]
pub struct Request {
    #[serde(default)]
    pub id: serde_json::Value,
    #[serde(default)]
    pub params: serde_json::Value,
}

pub fn parse(body: &[u8]) -> Result<Request, Error> {
    serde_json::from_slice(body).map_err(|e| {
        Error::application(format!(
            "Invalid JSON-RPC request: {} at line {} column {}.",
            match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "malformed JSON",
                serde_json::error::Category::Data => "unexpected structure",
                serde_json::error::Category::Io => "unreadable body",
            },
            e.line(),
            e.column()
        ))
    })
}

pub fn result(id: serde_json::Value, result: serde_json::Value) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error(id: serde_json::Value, error: &Error) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "error": fault::json_error(error)})
}

/// Odoo's "session expired" error, which clients recognise by its code.
pub fn session_expired(id: serde_json::Value) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": 100,
        "message": "Odoo Session Expired",
        "data": {"name": "odoo.http.SessionExpiredException", "debug": "", "message": "Session expired", "arguments": ["Session expired"], "context": {}}
    }})
}

/// What `/web/session/authenticate` and `get_session_info` return (the keys clients read).
pub fn session_info(identity: Identity, login: &str, db: &str, sid: &str) -> serde_json::Value {
    json!({
        "uid": identity.uid,
        "is_system": false,
        "is_admin": false,
        "db": db,
        "username": login,
        "name": login,
        "partner_id": false,
        "company_id": identity.company_id,
        "session_id": sid,
        "server_version": crate::rpc::services::SERVER_VERSION,
        "server_version_info": [17, 0, 0, "final", 0, ""],
        "user_context": {"lang": "en_US", "tz": "UTC", "uid": identity.uid, "allowed_company_ids": [identity.company_id]},
        "user_companies": {"current_company": identity.company_id, "allowed_companies": {}},
    })
}

pub fn object_param<'a>(params: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    params.as_object().and_then(|o| o.get(key))
}

pub fn kwargs_of(v: Option<&serde_json::Value>) -> BTreeMap<String, crate::types::Value> {
    match v.cloned().map(crate::types::Value::from_json) {
        Some(crate::types::Value::Map(map)) => map,
        _ => BTreeMap::new(),
    }
}
