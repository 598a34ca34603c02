//! Odoo's fault mapping, done once: error kind → `/xmlrpc/2` integer code, legacy `/xmlrpc` string
//! code, or JSON-RPC error object. The faultString starts with the user-facing message.

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

/// Longest client-supplied text written into a log field; the rest is summarised by its length.
const MAX_LOGGED_CHARS: usize = 200;

/// A client-supplied string (model, method, login, db…) made safe for a log field: control characters,
/// quotes and backslashes escaped as in Rust's `escape_debug` (a `\n` in a model name cannot start a
/// forged log line, whatever the log format), cut after 200 characters with the full length noted.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            write!(f, "…({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Shorthand for `Escaped(text)` in a `%field`.
pub fn escaped(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// Logs an error the client is about to receive: internal causes in full, client errors briefly. `what`
/// holds client-supplied names, so it is escaped; so is the message, which may quote them.
pub fn log(error: &Error, what: &str) {
    let call = escaped(what);
    let message = escaped(error.message());
    match (error.kind(), error.cause()) {
        (ErrorKind::Application | ErrorKind::Config, Some(cause)) => {
            tracing::error!(call = %call, error = %message, cause = %escaped(&cause.to_string()), "call failed")
        }
        (ErrorKind::AccessDenied, _) => {}
        _ => {
            tracing::debug!(call = %call, kind = ?error.kind(), error = %message, "call refused")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_has_no_line_breaks_and_is_bounded() {
        let forged = "res.partner\n2026-01-01T00:00:00Z  INFO forged: admin logged in";
        let shown = escaped(forged).to_string();
        assert!(!shown.contains('\n') && shown.starts_with("res.partner\\n2026"), "{shown}");
        let huge = "x".repeat(1_000_000);
        let shown = escaped(&huge).to_string();
        assert!(shown.len() < 300 && shown.ends_with("…(1000000 bytes)"), "{shown}");
        assert_eq!(escaped("a\u{1b}[31m\r\"b").to_string(), "a\\u{1b}[31m\\r\\\"b");
    }
}
