//! Typed errors of the Salt Edge client.
//!
//! Every failure is sorted into an [`ErrorKind`] that tells the caller what to do next (retry
//! later, ask the user, treat as duplicate, …). The Salt Edge error class (e.g.
//! `ConnectionNotFound`) and its human message are kept, but never a full response body, a
//! secret or a key.

use std::fmt;
use std::time::Duration;

use crate::aggregator_http::truncate;

use crate::types::Failure;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Transient: rate limits, 5xx, timeouts, network errors, refresh not yet allowed.
    RetryLater,
    /// The end user must act: bad credentials, expired or revoked consent, access denied.
    NeedsUser,
    /// The object already exists (`DuplicatedCustomer`, `ConnectionDuplicated`).
    Duplicate,
    /// The addressed object is gone: only `ConnectionNotFound`, `CustomerNotFound`, `ConsentNotFound`
    /// (and their v5 spellings) say so. A `RouteNotFound` or a bare 404 is not "gone" but an error.
    NotFound,
    /// Our own configuration is wrong: app id, secret, signing key, client status.
    Config,
    /// The response was not what the Salt Edge API promises (malformed JSON, unexpected shape).
    Protocol,
    /// Salt Edge refused the request for another reason (invalid parameter, date out of range…).
    Rejected,
}

impl ErrorKind {
    /// The kind as a metrics label.
    pub fn metric_label(self) -> &'static str {
        match self {
            ErrorKind::RetryLater => "retry_later",
            ErrorKind::NeedsUser => "needs_user",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Config => "config",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Rejected => "rejected",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ErrorKind::RetryLater => "retry later",
            ErrorKind::NeedsUser => "needs the user",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::NotFound => "not found",
            ErrorKind::Config => "configuration error",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Rejected => "request rejected",
        };
        f.write_str(name)
    }
}

/// An error from the Salt Edge client.
#[derive(Debug, Clone)]
pub struct SaltEdgeError {
    kind: ErrorKind,
    class: Option<String>,
    message: String,
    http_status: Option<u16>,
    retry_after: Option<Duration>,
}

impl SaltEdgeError {
    /// Builds an error of a given kind with a message (truncated to a sane length).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SaltEdgeError { kind, class: None, message: truncate(message.into()), http_status: None, retry_after: None }
    }

    /// Builds the error for a Salt Edge error envelope (`error.class`, `error.message`).
    pub fn from_api(status: u16, class: &str, message: &str) -> Self {
        SaltEdgeError {
            kind: classify(status, class),
            class: Some(truncate(class.to_string())),
            message: truncate(message.to_string()),
            http_status: Some(status),
            retry_after: None,
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    pub(crate) fn with_class(mut self, class: &str) -> Self {
        self.class = Some(class.to_string());
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The Salt Edge error class (`ConnectionNotFound`, `InvalidCredentials`, …) when the error
    /// came from an error envelope.
    pub fn class(&self) -> Option<&str> {
        self.class.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// `Retry-After` from a 429 answer, if Salt Edge sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::RetryLater
    }
}

impl fmt::Display for SaltEdgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.class, self.http_status) {
            (Some(class), Some(status)) => {
                write!(f, "Salt Edge {} (HTTP {status}, {class}): {}", self.kind, self.message)
            }
            (Some(class), None) => write!(f, "Salt Edge {} ({class}): {}", self.kind, self.message),
            (None, Some(status)) => {
                write!(f, "Salt Edge {} (HTTP {status}): {}", self.kind, self.message)
            }
            (None, None) => write!(f, "Salt Edge {}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for SaltEdgeError {}

/// Maps a Salt Edge error class (and, for unknown classes, the HTTP status) to an [`ErrorKind`].
pub fn classify(status: u16, class: &str) -> ErrorKind {
    match class {
        // Transient or "not now".
        "RateLimitExceeded"
        | "TooManyRequests"
        | "ConnectionCannotBeRefreshed"
        | "BackgroundFetchLimitExceeded"
        | "ConnectionAlreadyProcessing"
        | "InternalServerError"
        | "ProviderUnavailable"
        | "ProviderError"
        | "ConnectionFailed"
        | "ConnectionLost"
        | "ConnectionFetchingStopped"
        | "ExecutionTimeout"
        | "FetchingTimeout" => ErrorKind::RetryLater,
        // The end user has to do something (log in again, renew consent).
        "InvalidCredentials"
        | "InvalidInteractiveCredentials"
        | "InteractiveAdapterTimeout"
        | "InteractiveTimeout"
        | "CredentialsNotMatch"
        | "AispConsentExpired"
        | "AispConsentRevoked"
        | "AispConsentAlreadyRevoked"
        | "ConsentExpired"
        | "ConsentRevoked"
        | "ProviderAccessNotGranted"
        | "ConnectionDisabled"
        | "ConnectionInactive"
        | "CustomerLocked" => ErrorKind::NeedsUser,
        "ConnectionDuplicated" | "DuplicatedCustomer" | "ConnectionAlreadyExists" | "CustomerAlreadyExists" => {
            ErrorKind::Duplicate
        }
        // Our app id / secret / key / client status is wrong.
        "ClientNotFound"
        | "ApiKeyNotFound"
        | "WrongClientSecret"
        | "AppIdNotProvided"
        | "SecretNotProvided"
        | "SignatureNotMatch"
        | "MissingSignature"
        | "MissingExpiresAt"
        | "ExpiresAtInvalid"
        | "RequestExpired"
        | "PublicKeyNotProvided"
        | "ClientDisabled"
        | "ClientPending"
        | "ClientRestricted"
        | "AppsRestricted"
        | "ActionNotAllowed" => ErrorKind::Config,
        "JsonParseError" | "InvalidEncoding" | "WrongRequestFormat" => ErrorKind::Protocol,
        // Salt Edge saying the very object asked for no longer exists.
        "ConnectionNotFound" | "CustomerNotFound" | "ConsentNotFound" | "AispConsentNotFound" | "AccountNotFound" => {
            ErrorKind::NotFound
        }
        // The path itself is unknown: a wrong API URL or version, i.e. our configuration.
        "RouteNotFound" => ErrorKind::Config,
        // Something the request refers to is unknown (ProviderNotFound, …): not "gone", refused.
        _ if class.ends_with("NotFound") => ErrorKind::Rejected,
        _ => classify_status(status),
    }
}

impl SaltEdgeError {
    /// What this failed request means for a bank link, in the sync engine's neutral words: the user must
    /// act, not now, or the bridge's side (the connection itself is fine).
    pub fn link_failure(&self) -> Failure {
        match self.kind {
            ErrorKind::NeedsUser | ErrorKind::NotFound | ErrorKind::Duplicate => Failure::NeedsUser,
            ErrorKind::RetryLater => Failure::Temporary,
            ErrorKind::Config | ErrorKind::Protocol | ErrorKind::Rejected => Failure::Bridge,
        }
    }
}

/// What an attempt that failed at the bank with this error class (`fail_error_class`) means for a bank
/// link: unlike a refused request, an attempt refused for a reason the bridge does not know is the bank's
/// refusal, which the user reads.
pub fn attempt_failure(class: &str) -> Failure {
    match classify(0, class) {
        ErrorKind::NeedsUser | ErrorKind::NotFound | ErrorKind::Duplicate => Failure::NeedsUser,
        ErrorKind::RetryLater => Failure::Temporary,
        ErrorKind::Config | ErrorKind::Protocol | ErrorKind::Rejected => Failure::Refused,
    }
}

/// Fallback for error classes this client does not know.
pub fn classify_status(status: u16) -> ErrorKind {
    match status {
        429 | 500..=599 => ErrorKind::RetryLater,
        401 | 403 => ErrorKind::Config,
        // A 404 without Salt Edge's error body (a proxy, a wrong URL) says nothing about the object.
        404 | 410 => ErrorKind::Protocol,
        409 => ErrorKind::Duplicate,
        _ => ErrorKind::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_kinds() {
        assert_eq!(classify(429, "RateLimitExceeded"), ErrorKind::RetryLater);
        assert_eq!(classify(406, "ConnectionCannotBeRefreshed"), ErrorKind::RetryLater);
        assert_eq!(classify(406, "AispConsentExpired"), ErrorKind::NeedsUser);
        assert_eq!(classify(406, "InvalidCredentials"), ErrorKind::NeedsUser);
        assert_eq!(classify(409, "DuplicatedCustomer"), ErrorKind::Duplicate);
        assert_eq!(classify(409, "ConnectionDuplicated"), ErrorKind::Duplicate);
        assert_eq!(classify(404, "ConnectionNotFound"), ErrorKind::NotFound);
        assert_eq!(classify(404, "ClientNotFound"), ErrorKind::Config);
        assert_eq!(classify(404, "CustomerNotFound"), ErrorKind::NotFound);
        assert_eq!(classify(404, "ConsentNotFound"), ErrorKind::NotFound);
        assert_eq!(classify(404, "RouteNotFound"), ErrorKind::Config);
        assert_eq!(classify(404, "ProviderNotFound"), ErrorKind::Rejected);
        assert_eq!(classify_status(404), ErrorKind::Protocol);
        assert_eq!(classify(400, "SignatureNotMatch"), ErrorKind::Config);
        assert_eq!(classify(503, "SomethingNew"), ErrorKind::RetryLater);
        assert_eq!(classify(400, "DateOutOfRange"), ErrorKind::Rejected);
    }

    #[test]
    fn classes_map_to_neutral_link_failures() {
        assert_eq!(attempt_failure("InvalidCredentials"), Failure::NeedsUser);
        assert_eq!(attempt_failure("AispConsentExpired"), Failure::NeedsUser);
        assert_eq!(attempt_failure("ConnectionDuplicated"), Failure::NeedsUser);
        assert_eq!(attempt_failure("ProviderUnavailable"), Failure::Temporary);
        assert_eq!(attempt_failure("SomethingTheBankSaid"), Failure::Refused);
        assert_eq!(SaltEdgeError::from_api(404, "ConnectionNotFound", "gone").link_failure(), Failure::NeedsUser);
        assert_eq!(SaltEdgeError::from_api(429, "RateLimitExceeded", "slow").link_failure(), Failure::Temporary);
        assert_eq!(SaltEdgeError::from_api(400, "WrongRequestFormat", "x").link_failure(), Failure::Bridge);
        assert_eq!(SaltEdgeError::from_api(400, "DateOutOfRange", "x").link_failure(), Failure::Bridge);
    }

    #[test]
    fn display_is_short_and_has_class() {
        let long = "x".repeat(5000);
        let err = SaltEdgeError::from_api(404, "ConnectionNotFound", &long);
        let text = err.to_string();
        assert!(text.contains("ConnectionNotFound"));
        assert!(text.len() < 500, "{}", text.len());
    }
}
