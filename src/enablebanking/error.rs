//! Typed errors of the Enable Banking client.
//!
//! Enable Banking answers every failure with an `ErrorResponse` (API reference, schema `ErrorResponse`):
//! `message` (always), `code` (the HTTP status), `error` (a text code from the `ErrorCode` list) and
//! `detail`. The text code decides what the caller should do ([`ErrorKind`]); only when it is missing or
//! unknown does the HTTP status. The code and message are kept (cut to a sane length), never a whole
//! body, a token or a key.

use std::fmt;
use std::time::Duration;

use crate::aggregator_http::truncate;
use crate::types::Failure;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Transient at Enable Banking or on the way there: its own 429, 5xx, 408, timeouts, network errors.
    RetryLater,
    /// The bank refuses more reads for now (`ASPSP_RATE_LIMIT_EXCEEDED`): PSD2 lets it limit reads made
    /// without the user to about four per account per day.
    RateLimited,
    /// The bank itself failed or did not answer in time (`ASPSP_ERROR`, `ASPSP_TIMEOUT`).
    BankUnavailable,
    /// The consent behind the session has ended (`EXPIRED_SESSION`, `REVOKED_SESSION`, `CLOSED_SESSION`)
    /// or the bank wants the user (`ASPSP_PSU_ACTION_REQUIRED`): only a new authorization helps.
    ConsentExpired,
    /// The request does not fit where the authorization or session stands (`WRONG_SESSION_STATUS`,
    /// `ALREADY_AUTHORIZED`, `WRONG_AUTHORIZATION_CODE`, `EXPIRED_AUTHORIZATION_CODE`).
    WrongState,
    /// The session, account or transaction addressed does not exist (`SESSION_DOES_NOT_EXIST`,
    /// `ACCOUNT_DOES_NOT_EXIST`, `ASPSP_ACCOUNT_NOT_ACCESSIBLE`, `TRANSACTION_DOES_NOT_EXIST`).
    NotFound,
    /// The bridge's own application is refused: id, key, redirect URL, services, IP
    /// (`UNAUTHORIZED_ACCESS`, `AUTHORIZATION_NOT_PROVIDED`, `REDIRECT_URI_NOT_ALLOWED`, `ACCESS_DENIED`,
    /// `NO_ACCOUNTS_ADDED`, `UNAUTHORIZED_IP`, `INVALID_HOST`), or its configuration cannot be used.
    Config,
    /// The answer is not what the API promises: malformed JSON, or paging that never ends.
    Protocol,
    /// The request was refused for another reason (`WRONG_REQUEST_PARAMETERS`, `WRONG_ASPSP_PROVIDED`,
    /// dates, `WRONG_CONTINUATION_KEY`, PSU headers, …).
    Rejected,
}

impl ErrorKind {
    /// The kind as a metrics label (`bankbridge_enablebanking_calls_total{outcome}`).
    pub fn metric_label(self) -> &'static str {
        match self {
            ErrorKind::RetryLater => "retry_later",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::BankUnavailable => "bank_unavailable",
            ErrorKind::ConsentExpired => "consent_expired",
            ErrorKind::WrongState => "wrong_state",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Config => "config",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Rejected => "rejected",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::RetryLater => "retry later",
            ErrorKind::RateLimited => "bank read limit reached",
            ErrorKind::BankUnavailable => "bank unavailable",
            ErrorKind::ConsentExpired => "consent ended",
            ErrorKind::WrongState => "wrong state",
            ErrorKind::NotFound => "not found",
            ErrorKind::Config => "configuration error",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Rejected => "request rejected",
        })
    }
}

/// An error from the Enable Banking client.
#[derive(Debug, Clone)]
pub struct EnableBankingError {
    kind: ErrorKind,
    code: Option<String>,
    message: String,
    http_status: Option<u16>,
    retry_after: Option<Duration>,
}

impl EnableBankingError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EnableBankingError { kind, code: None, message: truncate(message.into()), http_status: None, retry_after: None }
    }

    /// The error for an `ErrorResponse` body (`error` may be absent).
    pub fn from_api(status: u16, code: Option<&str>, message: &str) -> Self {
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        EnableBankingError {
            kind: classify(status, code),
            code: code.map(|c| truncate(c.to_string())),
            message: truncate(message.to_string()),
            http_status: Some(status),
            retry_after: None,
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The `error` text code of the answer (`EXPIRED_SESSION`, …), when it had one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// `Retry-After` of the answer, when it had one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// What this failure means for a bank link (its state follows from it, `types::transition`).
    pub fn link_failure(&self) -> Failure {
        match self.kind {
            ErrorKind::ConsentExpired | ErrorKind::WrongState | ErrorKind::NotFound => Failure::NeedsUser,
            ErrorKind::RetryLater | ErrorKind::RateLimited | ErrorKind::BankUnavailable => Failure::Temporary,
            ErrorKind::Rejected => Failure::Refused,
            ErrorKind::Config | ErrorKind::Protocol => Failure::Bridge,
        }
    }
}

impl fmt::Display for EnableBankingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Enable Banking {}", self.kind)?;
        match (&self.code, self.http_status) {
            (Some(code), Some(status)) => write!(f, " (HTTP {status}, {code})")?,
            (Some(code), None) => write!(f, " ({code})")?,
            (None, Some(status)) => write!(f, " (HTTP {status})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for EnableBankingError {}

/// Maps an `ErrorCode` (and, without a known one, the HTTP status) to an [`ErrorKind`].
pub fn classify(status: u16, code: Option<&str>) -> ErrorKind {
    match code.unwrap_or("") {
        "ASPSP_RATE_LIMIT_EXCEEDED" => ErrorKind::RateLimited,
        "ASPSP_ERROR" | "ASPSP_TIMEOUT" => ErrorKind::BankUnavailable,
        "EXPIRED_SESSION" | "REVOKED_SESSION" | "CLOSED_SESSION" | "ASPSP_PSU_ACTION_REQUIRED" => {
            ErrorKind::ConsentExpired
        }
        "WRONG_SESSION_STATUS" | "ALREADY_AUTHORIZED" | "WRONG_AUTHORIZATION_CODE" | "EXPIRED_AUTHORIZATION_CODE" => {
            ErrorKind::WrongState
        }
        "SESSION_DOES_NOT_EXIST"
        | "ACCOUNT_DOES_NOT_EXIST"
        | "ASPSP_ACCOUNT_NOT_ACCESSIBLE"
        | "TRANSACTION_DOES_NOT_EXIST" => ErrorKind::NotFound,
        "UNAUTHORIZED_ACCESS"
        | "AUTHORIZATION_NOT_PROVIDED"
        | "REDIRECT_URI_NOT_ALLOWED"
        | "ACCESS_DENIED"
        | "NO_ACCOUNTS_ADDED"
        | "UNAUTHORIZED_IP"
        | "INVALID_HOST" => ErrorKind::Config,
        "WRONG_REQUEST_PARAMETERS"
        | "WRONG_ASPSP_PROVIDED"
        | "WRONG_CREDENTIALS_PROVIDED"
        | "WRONG_DATE_INTERVAL"
        | "WRONG_TRANSACTIONS_PERIOD"
        | "WRONG_CONTINUATION_KEY"
        | "DATE_FROM_IN_FUTURE"
        | "DATE_TO_WITHOUT_DATE_FROM"
        | "INVALID_ACCOUNT_ID"
        | "PSU_HEADER_NOT_PROVIDED"
        | "PSU_HEADER_INVALID" => ErrorKind::Rejected,
        _ => classify_status(status),
    }
}

/// Fallback for answers without a known text code.
pub fn classify_status(status: u16) -> ErrorKind {
    match status {
        408 | 429 | 500..=599 => ErrorKind::RetryLater,
        401 | 403 => ErrorKind::Config,
        // A 404 without an error code (a proxy, a wrong base URL) says nothing about the object.
        404 => ErrorKind::Protocol,
        _ => ErrorKind::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_before_statuses() {
        assert_eq!(classify(429, Some("ASPSP_RATE_LIMIT_EXCEEDED")), ErrorKind::RateLimited);
        assert_eq!(classify(429, None), ErrorKind::RetryLater);
        // Observed in production: the bank's failure comes as HTTP 400 with ASPSP_ERROR.
        assert_eq!(classify(400, Some("ASPSP_ERROR")), ErrorKind::BankUnavailable);
        assert_eq!(classify(401, Some("EXPIRED_SESSION")), ErrorKind::ConsentExpired);
        assert_eq!(classify(401, Some("CLOSED_SESSION")), ErrorKind::ConsentExpired);
        assert_eq!(classify(401, None), ErrorKind::Config);
        assert_eq!(classify(400, Some("WRONG_SESSION_STATUS")), ErrorKind::WrongState);
        assert_eq!(classify(400, Some("WRONG_AUTHORIZATION_CODE")), ErrorKind::WrongState);
        assert_eq!(classify(404, Some("SESSION_DOES_NOT_EXIST")), ErrorKind::NotFound);
        assert_eq!(classify(404, None), ErrorKind::Protocol);
        assert_eq!(classify(400, Some("REDIRECT_URI_NOT_ALLOWED")), ErrorKind::Config);
        assert_eq!(classify(422, Some("WRONG_REQUEST_PARAMETERS")), ErrorKind::Rejected);
        assert_eq!(classify(503, Some("SOMETHING_NEW")), ErrorKind::RetryLater);
        assert_eq!(classify(422, Some("SOMETHING_NEW")), ErrorKind::Rejected);
    }

    #[test]
    fn display_is_short_and_names_the_code() {
        let err = EnableBankingError::from_api(401, Some("EXPIRED_SESSION"), &"x".repeat(5000));
        let text = err.to_string();
        assert!(text.contains("EXPIRED_SESSION") && text.contains("HTTP 401"), "{text}");
        assert!(text.len() < 500, "{}", text.len());
        assert_eq!(EnableBankingError::from_api(500, Some("  "), "m").code(), None);
    }
}
