//! Odoo's fault mapping, done once: error kind → `/xmlrpc/2` integer code, legacy `/xmlrpc` string
//! code, JSON-RPC error object, or `/json/2` HTTP status and error body. The faultString starts with the user-facing message.

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
            "name": error.odoo_exception(),
            "debug": format!("{}: {}\n", error.odoo_exception(), error.message()),
            "message": error.message(),
            "arguments": [error.message()],
            "context": {},
        }
    })
}

/// The HTTP status Odoo 19's `/json/2` answers an error kind with: the exception's `http_status` (422 for
/// a user or validation error, 404 for a missing record, 403 for access), 500 for any other exception.
pub fn http_status(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::UserError | ErrorKind::Validation => 422,
        ErrorKind::Missing => 404,
        ErrorKind::AccessDenied | ErrorKind::AccessError => 403,
        ErrorKind::Application | ErrorKind::Config => 500,
    }
}

/// The body of a `/json/2` error (Odoo 19's `serialize_exception`): the exception's class, its message,
/// its arguments and a debug text (Odoo's traceback; here the class and message only).
pub fn json2_body(name: &str, message: &str, arguments: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "message": message,
        "arguments": arguments,
        "context": {},
        "debug": format!("{name}: {message}\n"),
    })
}

/// A bridge error as `/json/2` sends it: its status and body.
pub fn json2_error(error: &Error) -> (u16, serde_json::Value) {
    let name = error.odoo_exception();
    (http_status(error.kind()), json2_body(name, error.message(), serde_json::json!([error.message()])))
}

pub use crate::types::log_text::{escaped, Escaped};

pub use crate::error::log;
