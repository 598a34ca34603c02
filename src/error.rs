//! One error type for the whole bridge: a stable kind (what the client sees, mapped once to the wire in
//! `rpc::fault`) plus an optional cause that is logged but never sent.

use std::fmt;

/// Stable error kinds, each mapped to one Odoo exception class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Odoo's generic server error (fault 1): bad arguments, unknown methods, internal failures.
    Application,
    /// `odoo.exceptions.UserError` (fault 2): a message meant for the user.
    UserError,
    /// `odoo.exceptions.ValidationError` (fault 2).
    Validation,
    /// `odoo.exceptions.MissingError` (fault 2).
    Missing,
    /// `odoo.exceptions.AccessDenied` (fault 3): bad credentials.
    AccessDenied,
    /// `odoo.exceptions.AccessError` (fault 4): authenticated but not allowed.
    AccessError,
    /// A configuration or start-up problem (never sent over RPC as such).
    Config,
}

impl ErrorKind {
    /// The Python class name Odoo reports for this kind (JSON-RPC `data.name`, legacy fault codes).
    pub fn odoo_exception(self) -> &'static str {
        match self {
            ErrorKind::Application | ErrorKind::Config => "builtins.Exception",
            ErrorKind::UserError => "odoo.exceptions.UserError",
            ErrorKind::Validation => "odoo.exceptions.ValidationError",
            ErrorKind::Missing => "odoo.exceptions.MissingError",
            ErrorKind::AccessDenied => "odoo.exceptions.AccessDenied",
            ErrorKind::AccessError => "odoo.exceptions.AccessError",
        }
    }
}

pub struct Error {
    kind: ErrorKind,
    /// The Python exception class Odoo raises in its place, when it is not the kind's own (an application
    /// error that Odoo raises as `ValueError` or `TypeError`).
    exception: Option<&'static str>,
    message: String,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, exception: None, message: message.into(), cause: None }
    }
    pub fn application(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Application, message)
    }
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UserError, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }
    pub fn missing(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Missing, message)
    }
    pub fn access_denied() -> Self {
        Self::new(ErrorKind::AccessDenied, "Access Denied")
    }
    pub fn access(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AccessError, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// An internal failure: the client gets a generic message, the cause goes to the log only.
    pub fn internal(what: &str, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error {
            kind: ErrorKind::Application,
            exception: None,
            message: format!("Internal server error while {what}; see the bridge log."),
            cause: Some(Box::new(cause)),
        }
    }
    pub fn from_pool(cause: r2d2::Error) -> Self {
        Self::internal("waiting for a database connection", cause)
    }
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// An application error that Odoo raises as the Python exception `class` (`builtins.ValueError`).
    pub fn python(class: &'static str, message: impl Into<String>) -> Self {
        Error { exception: Some(class), ..Self::application(message) }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The Python class name Odoo reports for this error.
    pub fn odoo_exception(&self) -> &'static str {
        self.exception.unwrap_or(self.kind.odoo_exception())
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync)> {
        self.cause.as_deref()
    }
    /// Whether the database failed (a statement, not the call's arguments, is what went wrong).
    pub fn from_database(&self) -> bool {
        self.cause.as_deref().is_some_and(|cause| cause.is::<diesel::result::Error>())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, " (cause: {cause})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    /// The cause (a database, pool or I/O error): logged, never sent to clients.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match &e {
            D::NotFound => Error::missing("Record does not exist or has been deleted."),
            D::DatabaseError(kind, info) => {
                let detail = match kind {
                    DatabaseErrorKind::UniqueViolation => Some("a record with the same unique values already exists"),
                    DatabaseErrorKind::ForeignKeyViolation => {
                        Some("another record still refers to it, or it refers to a record that does not exist")
                    }
                    DatabaseErrorKind::NotNullViolation => Some("a required value is missing"),
                    DatabaseErrorKind::CheckViolation => Some("a value is out of its allowed range"),
                    _ => None,
                };
                match detail {
                    Some(detail) => {
                        tracing::debug!(constraint = ?info.constraint_name(), "constraint violation");
                        Error::validation(format!("The operation cannot be completed: {detail}.")).with_cause(e)
                    }
                    None => Error::internal("accessing the database", e),
                }
            }
            _ => Error::internal("accessing the database", e),
        }
    }
}

impl From<diesel::ConnectionError> for Error {
    fn from(e: diesel::ConnectionError) -> Self {
        Error::internal("connecting to the database", e)
    }
}

/// Logs an error the client is about to receive: internal causes in full, client errors briefly. `what`
/// holds client-supplied names, so it is escaped; so is the message, which may quote them.
pub fn log(error: &Error, what: &str) {
    let call = crate::types::log_text::escaped(what);
    let message = crate::types::log_text::escaped(error.message());
    match (error.kind(), error.cause()) {
        (ErrorKind::Application | ErrorKind::Config, Some(cause)) => {
            tracing::error!(call = %call, error = %message, cause = %crate::types::log_text::escaped(&cause.to_string()), "call failed")
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
    fn the_cause_is_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "disk gone");
        let error = Error::internal("reading the disk", io);
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "disk gone");
        assert_eq!(
            source.downcast_ref::<std::io::Error>().map(std::io::Error::kind),
            Some(std::io::ErrorKind::BrokenPipe)
        );
        assert!(std::error::Error::source(&Error::user("no cause")).is_none());
    }
}
