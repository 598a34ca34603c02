//! Odoo's fault mapping, done once: error kind → `/xmlrpc/2` integer code, legacy `/xmlrpc` string
//! code, or JSON-RPC error object. The faultString starts with the user-facing message.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::error::{Error, ErrorKind};

pub const APPLICATION_ERROR: i32 = 1;
pub const WARNING: i32 = 2;
pub const ACCESS_DENIED: i32 = 3;
pub const ACCESS_ERROR: i32 = 4;

pub fn int_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::UserError | ErrorKind::Validation | ErrorKind::Missing => WARNING,
        ErrorKind::AccessDenied => ACCESS_DENIED,
        ErrorKind::AccessError => ACCESS_ERROR,
        ErrorKind::Application | ErrorKind::Config => APPLICATION_ERROR,
    }
}

/// `(faultCode, faultString)` of Odoo's legacy `/xmlrpc/<service>` endpoints, which erppeek and
/// odoo-client-lib parse (`warning -- …` marks a user error).
pub fn legacy_code(error: &Error) -> (String, String) {
    let msg = error.message();
    match error.kind() {
        ErrorKind::Missing => (format!("warning -- MissingError\n\n{msg}"), String::new()),
        ErrorKind::AccessError => (format!("warning -- AccessError\n\n{msg}"), String::new()),
        ErrorKind::AccessDenied => ("AccessDenied".to_string(), msg.to_string()),
        ErrorKind::UserError | ErrorKind::Validation => (format!("warning -- UserError\n\n{msg}"), String::new()),
        ErrorKind::Application | ErrorKind::Config => (msg.to_string(), format!("{msg}\n")),
    }
}

/// The `error` member of an Odoo JSON-RPC response.
pub fn json_error(error: &Error) -> serde_json::Value {
    serde_json::json!({
        "code": 200,
        "message": "Odoo Server Error",
        "data": {
            "name": error.kind().odoo_exception(),
            "debug": format!("{}: {}\n", error.kind().odoo_exception(), error.message()),
            "message": error.message(),
            "arguments": [error.message()],
            "context": {},
        }
    })
}

pub use crate::types::log_text::{escaped, Escaped};

pub use crate::error::log;

/// A failed RPC request, answered in its protocol's own form: Odoo's fault for XML-RPC, a JSON-RPC error
/// object (or Odoo's "session expired") for JSON-RPC. Routes return it with `?`; the access middleware
/// reads it back from the response (`rpc::access`) for the access line and the fault log.
#[derive(Debug)]
pub struct Fault {
    pub error: Error,
    form: Form,
}

#[derive(Debug)]
enum Form {
    XmlRpc { legacy: bool },
    JsonRpc { id: serde_json::Value, status: StatusCode },
    SessionExpired { id: serde_json::Value },
}

impl Fault {
    /// An XML-RPC fault: integer codes on `/xmlrpc/2`, Odoo's legacy string codes on `/xmlrpc`.
    pub fn xmlrpc(error: Error, legacy: bool) -> Fault {
        Fault { error, form: Form::XmlRpc { legacy } }
    }

    /// A JSON-RPC error answering the request `id`.
    pub fn jsonrpc(id: serde_json::Value, error: Error) -> Fault {
        Fault { error, form: Form::JsonRpc { id, status: StatusCode::OK } }
    }

    /// A JSON-RPC error with another HTTP status than 200 (a request refused before it is read).
    pub fn jsonrpc_with_status(id: serde_json::Value, error: Error, status: StatusCode) -> Fault {
        Fault { error, form: Form::JsonRpc { id, status } }
    }

    /// Odoo's "session expired" (a web route without a live session); logged as access denied.
    pub fn session_expired(id: serde_json::Value) -> Fault {
        Fault { error: Error::access_denied(), form: Form::SessionExpired { id } }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl actix_web::ResponseError for Fault {
    fn status_code(&self) -> StatusCode {
        match &self.form {
            Form::JsonRpc { status, .. } => *status,
            Form::XmlRpc { .. } | Form::SessionExpired { .. } => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.form {
            Form::XmlRpc { legacy } => crate::rpc::http::xml(crate::rpc::xmlrpc::encode_fault(&self.error, *legacy)),
            Form::JsonRpc { id, status } => HttpResponse::build(*status)
                .content_type(ContentType::json())
                .body(crate::rpc::jsonrpc::error(id.clone(), &self.error).to_string()),
            Form::SessionExpired { id } => HttpResponse::Ok()
                .content_type(ContentType::json())
                .body(crate::rpc::jsonrpc::session_expired(id.clone()).to_string()),
        }
    }
}
