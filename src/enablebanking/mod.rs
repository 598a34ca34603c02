//! Enable Banking API client (account information).
//!
//! Followed from Enable Banking's API reference (https://enablebanking.com/docs/api/reference/, OpenAPI
//! description "API reference" 1.0.0-3030f99c) and its quick start and control-panel guides. Every
//! endpoint the client offers, with the reference section it follows (the bridge uses them all but
//! `details`: a session brings its accounts' details, and a details read counts against the bank's limit):
//!
//! | call | reference section (operation) |
//! |---|---|
//! | `GET /application` | Misc: "Get application" (`get_application_application_get`) |
//! | `GET /aspsps?country=&psu_type=&service=AIS` | Misc: "Get list of ASPSPs" (`get_aspsps_aspsps_get`) |
//! | `POST /auth` | User sessions: "Start user authorization" (`initialize_session_auth_post`) |
//! | `POST /sessions` | User sessions: "Authorize user session" (`authorize_session_sessions_post`) |
//! | `GET /sessions/{session_id}` | User sessions: "Get session data" (`get_session_sessions__session_id__get`) |
//! | `DELETE /sessions/{session_id}` | User sessions: "Delete session" (`delete_session_sessions__session_id__delete`) |
//! | `GET /accounts/{account_id}/details` | Accounts data: "Get account details" (`get_account_accounts__account_id__details_get`) |
//! | `GET /accounts/{account_id}/balances` | Accounts data: "Get account balances" (`get_account_balances_accounts__account_id__balances_get`) |
//! | `GET /accounts/{account_id}/transactions` | Accounts data: "Get account transactions" (`get_account_transactions_accounts__account_id__transactions_get`) |
//!
//! * Authentication: a JWT per the reference's "Authorization" section ([`jwt`]).
//! * Errors: every failure is an [`EnableBankingError`] whose [`ErrorKind`] comes from the answer's
//!   `ErrorResponse.error` code ([`error`]).
//! * Retries: transport errors, 408, 5xx and Enable Banking's own 429 are retried with exponential
//!   backoff and jitter (honouring `Retry-After` up to a minute), up to `max_retries` times, for `GET` and
//!   `DELETE`. `POST /auth` and `POST /sessions` change state (an authorization code is single-use), so
//!   they are retried only when the request cannot have been processed: a failed connection or a 429.
//!   `ASPSP_RATE_LIMIT_EXCEEDED` (the bank's own daily limit) is never retried within a call.
//! * Paging: `continuation_key` is followed to the end, one page handed to the caller at a time; a key
//!   seen twice or more than [`MAX_PAGES`] pages (configurable) end the read with a protocol error, and no answer body
//!   may exceed [`aggregator_http::MAX_BODY_BYTES`] (a body that never ends is cut, not buffered).
//! * Reads are made without the user: no `Psu-*` headers are sent (the bridge cannot know the user's IP
//!   address or browser), so the bank may count each read against its PSD2 limit of about four per
//!   account per day; [`plan`] says when the bridge may read.
//!
//! Where the reference is silent this client decides conservatively: the redirect back carries `code`
//! and `state`, or `error` (OAuth's convention, which the quick start's example follows); a
//! `DELETE /sessions/{id}` answered `SESSION_DOES_NOT_EXIST`, `CLOSED_SESSION`, `EXPIRED_SESSION` or
//! `REVOKED_SESSION` counts as done; an empty `continuation_key` ends the paging like a missing one.

pub mod error;
pub mod jwt;
pub mod plan;
pub mod types;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use crate::aggregator_http::{self, BodyFailure};

pub use error::{EnableBankingError, ErrorKind};
pub use jwt::{AppSigner, KeyError};
pub use types::*;

/// Enable Banking's API root.
pub const DEFAULT_BASE_URL: &str = "https://api.enablebanking.com/";

/// Most pages one transactions read follows before it is called endless.
pub const MAX_PAGES: usize = 2_000;

/// Client settings. `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientConfig {
    /// API root (a missing trailing `/` is added).
    pub base_url: Url,
    /// The application id: the JWT's `kid`.
    pub app_id: String,
    /// The application's RSA private key, PEM (PKCS#8 or PKCS#1).
    pub private_key_pem: String,
    /// Timeout of one HTTP exchange. Reads reach the bank live, so it is longer than Salt Edge's.
    pub timeout: Duration,
    /// How many times a transient failure is retried (0 = try once).
    pub max_retries: u32,
    /// First backoff delay; it doubles on each retry (plus jitter).
    pub backoff_base: Duration,
    /// Most pages one transactions read follows ([`MAX_PAGES`]).
    pub max_pages: usize,
}

impl ClientConfig {
    /// Settings with defaults: 90 s per exchange, 4 retries, 500 ms backoff base, [`MAX_PAGES`] pages.
    pub fn new(base_url: Url, app_id: impl Into<String>, private_key_pem: impl Into<String>) -> Self {
        ClientConfig {
            base_url,
            app_id: app_id.into(),
            private_key_pem: private_key_pem.into(),
            timeout: Duration::from_secs(90),
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
            max_pages: MAX_PAGES,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("app_id", &self.app_id)
            .field("private_key_pem", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}

/// What one transactions read asks for (`date_from`, `date_to`, `transaction_status`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransactionQuery {
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    /// `BOOK`, `PDNG`, …; `None` lists every status.
    pub status: Option<String>,
}

/// Whether a request may be sent again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replay {
    /// Reads and deletes: after any transient failure.
    Safe,
    /// State-changing posts: only when the request cannot have been processed.
    OnlyIfUnprocessed,
}

/// Enable Banking API client. Cheap to clone (shares the HTTP pool and the signer).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    signer: Arc<AppSigner>,
    max_retries: u32,
    backoff_base: Duration,
    max_pages: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url.as_str())
            .field("app_id", &self.signer.app_id())
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, EnableBankingError> {
        let signer = AppSigner::from_pem(&cfg.app_id, &cfg.private_key_pem).map_err(|e| {
            EnableBankingError::new(ErrorKind::Config, format!("Enable Banking application key unusable: {e}"))
        })?;
        let base_url = aggregator_http::api_root(cfg.base_url);
        let http =
            aggregator_http::api_http_client(cfg.timeout).map_err(|e| EnableBankingError::new(ErrorKind::Config, e))?;
        Ok(Client {
            http,
            base_url,
            signer: Arc::new(signer),
            max_retries: cfg.max_retries,
            backoff_base: cfg.backoff_base,
            max_pages: cfg.max_pages.max(1),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn app_id(&self) -> &str {
        self.signer.app_id()
    }

    // ---------------------------------------------------------------- application and banks

    /// `GET /application`: the application the key belongs to (name, environment, redirect URLs,
    /// whether it is active).
    pub async fn application(&self) -> Result<Application, EnableBankingError> {
        self.call(Method::GET, "application", &[], None, Replay::Safe).await
    }

    /// `GET /aspsps`: the banks offering account information, optionally of one country and PSU type.
    pub async fn aspsps(
        &self,
        country: Option<&str>,
        psu_type: Option<PsuType>,
    ) -> Result<Vec<Aspsp>, EnableBankingError> {
        let mut query = vec![("service", "AIS".to_string())];
        if let Some(country) = country {
            query.push(("country", country.to_string()));
        }
        if let Some(psu_type) = psu_type {
            query.push(("psu_type", psu_type.as_str().to_string()));
        }
        let list: AspspList = self.call(Method::GET, "aspsps", &query, None, Replay::Safe).await?;
        Ok(list.aspsps)
    }

    // ---------------------------------------------------------------- authorization and sessions

    /// `POST /auth`: starts an authorization; the user is sent to the answer's `url`.
    pub async fn start_authorization(&self, request: &StartAuthorization) -> Result<Authorization, EnableBankingError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| EnableBankingError::new(ErrorKind::Protocol, format!("cannot encode request: {e}")))?;
        self.call(Method::POST, "auth", &[], Some(body), Replay::OnlyIfUnprocessed).await
    }

    /// `POST /sessions`: exchanges the `code` the redirect brought back for a session and its accounts.
    pub async fn authorize_session(&self, code: &str) -> Result<Session, EnableBankingError> {
        let body = serde_json::to_vec(&serde_json::json!({ "code": code }))
            .map_err(|e| EnableBankingError::new(ErrorKind::Protocol, format!("cannot encode request: {e}")))?;
        self.call(Method::POST, "sessions", &[], Some(body), Replay::OnlyIfUnprocessed).await
    }

    /// `GET /sessions/{id}`: the session's status, validity and accounts.
    pub async fn session(&self, session_id: &str) -> Result<SessionInfo, EnableBankingError> {
        let path = format!("sessions/{}", id_segment(session_id)?);
        self.call(Method::GET, &path, &[], None, Replay::Safe).await
    }

    /// `DELETE /sessions/{id}`: ends the session (and the bank consent, when the bank allows it). A
    /// session already gone, closed, expired or revoked counts as ended.
    pub async fn delete_session(&self, session_id: &str) -> Result<(), EnableBankingError> {
        let path = format!("sessions/{}", id_segment(session_id)?);
        match self.call::<Success>(Method::DELETE, &path, &[], None, Replay::Safe).await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.code(),
                    Some("SESSION_DOES_NOT_EXIST" | "CLOSED_SESSION" | "EXPIRED_SESSION" | "REVOKED_SESSION")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- accounts

    /// `GET /accounts/{uid}/details`.
    pub async fn account_details(&self, account_uid: &str) -> Result<AccountResource, EnableBankingError> {
        let path = format!("accounts/{}/details", id_segment(account_uid)?);
        self.call(Method::GET, &path, &[], None, Replay::Safe).await
    }

    /// `GET /accounts/{uid}/balances`.
    pub async fn balances(&self, account_uid: &str) -> Result<Balances, EnableBankingError> {
        let path = format!("accounts/{}/balances", id_segment(account_uid)?);
        self.call(Method::GET, &path, &[], None, Replay::Safe).await
    }

    /// One page of `GET /accounts/{uid}/transactions`.
    pub async fn transactions_page(
        &self,
        account_uid: &str,
        query: &TransactionQuery,
        continuation_key: Option<&str>,
    ) -> Result<TransactionsPage, EnableBankingError> {
        let path = format!("accounts/{}/transactions", id_segment(account_uid)?);
        let mut pairs = Vec::new();
        if let Some(from) = query.date_from {
            pairs.push(("date_from", from.format("%Y-%m-%d").to_string()));
        }
        if let Some(to) = query.date_to {
            pairs.push(("date_to", to.format("%Y-%m-%d").to_string()));
        }
        if let Some(status) = &query.status {
            pairs.push(("transaction_status", status.clone()));
        }
        if let Some(key) = continuation_key {
            pairs.push(("continuation_key", key.to_string()));
        }
        self.call(Method::GET, &path, &pairs, None, Replay::Safe).await
    }

    /// A read of every page of an account's transactions, one page at a time (so a long history is never
    /// held whole, and the caller stores each page before asking for the next).
    pub fn pager<'c>(&'c self, account_uid: &str, query: TransactionQuery) -> Pager<'c> {
        Pager {
            client: self,
            account_uid: account_uid.to_string(),
            query,
            key: None,
            seen: std::collections::HashSet::new(),
            pages: 0,
            done: false,
            previous: Vec::new(),
        }
    }

    // ---------------------------------------------------------------- plumbing

    /// One API call with retries.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        replay: Replay,
    ) -> Result<T, EnableBankingError> {
        let mut url = self.base_url.join(path).map_err(|e| {
            EnableBankingError::new(ErrorKind::Config, format!("bad Enable Banking URL for {path}: {e}"))
        })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        let mut attempt: u32 = 0;
        let record = |outcome| {
            crate::metrics::enablebanking_call(crate::metrics::CallLabels { resource: resource_of(path), outcome })
        };
        loop {
            let err = match self.send_once::<T>(&method, &url, path, body.as_deref()).await {
                Ok(value) => {
                    record("ok");
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            if attempt >= self.max_retries || !err.retryable(replay) {
                record(err.error.kind().metric_label());
                return Err(err.error);
            }
            let Some(wait) = aggregator_http::wait_before_retry(self.backoff_base, attempt, err.error.retry_after())
            else {
                record(err.error.kind().metric_label());
                return Err(err.error);
            };
            tracing::debug!(
                target: "enablebanking",
                %method, path = %redacted_path(path), attempt, wait_ms = wait.as_millis() as u64, error = %err.error,
                "retrying Enable Banking call"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<T, Failure> {
        let shown = redacted_path(path);
        let token = self.signer.token(chrono::Utc::now().timestamp()).map_err(|e| {
            Failure::answered(EnableBankingError::new(ErrorKind::Config, format!("cannot sign the request: {e}")))
        })?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let mut response = request.send().await.map_err(|e| Failure::transport(method, &shown, e))?;
        let status = response.status().as_u16();
        let retry_after = aggregator_http::retry_after(response.headers());
        let bytes = match aggregator_http::read_capped_body(&mut response).await {
            Ok(bytes) => bytes,
            Err(BodyFailure::Transport(e)) => return Err(Failure::transport(method, &shown, e)),
            Err(BodyFailure::TooLarge) => {
                return Err(Failure::answered(
                    EnableBankingError::new(ErrorKind::Protocol, aggregator_http::too_large(method, &shown))
                        .with_status(status),
                ))
            }
        };
        if (200..300).contains(&status) {
            return serde_json::from_slice::<T>(&bytes).map_err(|e| {
                Failure::answered(
                    EnableBankingError::new(ErrorKind::Protocol, format!("unexpected answer to {method} {shown}: {e}"))
                        .with_status(status),
                )
            });
        }
        let error = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => EnableBankingError::from_api(status, body.error.as_deref(), &body.message),
            Err(_) => EnableBankingError::from_api(
                status,
                None,
                &format!("{method} {shown} answered HTTP {status} without an Enable Banking error body"),
            ),
        };
        Err(Failure::answered(error.with_retry_after(retry_after)))
    }
}

/// One read of an account's transactions, page by page ([`Client::pager`]). It follows
/// `continuation_key` to the end; a key that comes back twice, a page that repeats the one before, or more
/// than the client's `max_pages` pages end it with [`ErrorKind::Protocol`].
pub struct Pager<'c> {
    client: &'c Client,
    account_uid: String,
    query: TransactionQuery,
    key: Option<String>,
    seen: std::collections::HashSet<String>,
    pages: usize,
    done: bool,
    /// The previous page's rows: a next page that repeats them exactly has not advanced.
    previous: Vec<Transaction>,
}

impl Pager<'_> {
    /// The next page, or `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<Vec<Transaction>>, EnableBankingError> {
        if self.done {
            return Ok(None);
        }
        if self.pages >= self.client.max_pages {
            return Err(EnableBankingError::new(
                ErrorKind::Protocol,
                format!("the transactions paging did not end after {} pages", self.client.max_pages),
            ));
        }
        let page = self.client.transactions_page(&self.account_uid, &self.query, self.key.as_deref()).await?;
        self.pages += 1;
        if self.pages > 1 && !page.transactions.is_empty() && page.transactions == self.previous {
            return Err(EnableBankingError::new(
                ErrorKind::Protocol,
                "the transactions paging did not advance (a page repeated the one before)",
            ));
        }
        self.previous.clone_from(&page.transactions);
        match page.continuation_key.filter(|k| !k.is_empty()) {
            None => self.done = true,
            Some(next) => {
                if !self.seen.insert(next.clone()) {
                    return Err(EnableBankingError::new(
                        ErrorKind::Protocol,
                        "the transactions paging did not advance (a continuation key came back twice)",
                    ));
                }
                self.key = Some(next);
            }
        }
        Ok(Some(page.transactions))
    }

    /// Pages read so far.
    pub fn pages(&self) -> usize {
        self.pages
    }
}

/// `ErrorResponse`, the part the client reads.
#[derive(Deserialize)]
struct ErrorBody {
    message: String,
    #[serde(default)]
    error: Option<String>,
}

/// A failed try, and whether the request may have been processed.
struct Failure {
    error: EnableBankingError,
    /// The connection could not be made: nothing reached Enable Banking.
    unsent: bool,
}

impl Failure {
    fn answered(error: EnableBankingError) -> Failure {
        Failure { error, unsent: false }
    }

    fn transport(method: &Method, shown: &str, err: reqwest::Error) -> Failure {
        let what = aggregator_http::transport_failure(&err);
        // `without_url` keeps ids and continuation keys in the query out of the message.
        let unsent = err.is_connect();
        let detail = err.without_url();
        Failure {
            error: EnableBankingError::new(ErrorKind::RetryLater, format!("{method} {shown}: {what} ({detail})")),
            unsent,
        }
    }

    fn retryable(&self, replay: Replay) -> bool {
        if self.unsent {
            return true;
        }
        let status = self.error.http_status();
        // Enable Banking's own throttling; the bank's daily limit has its own code and kind.
        let throttled = status == Some(429) && self.error.kind() == ErrorKind::RetryLater;
        match replay {
            Replay::OnlyIfUnprocessed => throttled,
            Replay::Safe => {
                self.error.kind() == ErrorKind::RetryLater
                    && (status.is_none() || throttled || matches!(status, Some(408 | 500..=599)))
            }
        }
    }
}

/// A path for logs and messages: session and account ids are the keys to a user's bank data, so they
/// are not written out.
/// The resource of an API path, for the calls metric: a fixed word, never an id from the path.
fn resource_of(path: &str) -> &'static str {
    let mut parts = path.split(['/', '?']);
    match (parts.next().unwrap_or(""), parts.next(), parts.next()) {
        ("accounts", Some(_), Some("details")) => "details",
        ("accounts", Some(_), Some("balances")) => "balances",
        ("accounts", Some(_), Some("transactions")) => "transactions",
        ("application", ..) => "application",
        ("aspsps", ..) => "aspsps",
        ("auth", ..) => "auth",
        ("sessions", ..) => "sessions",
        _ => "other",
    }
}

fn redacted_path(path: &str) -> String {
    let mut parts = path.split('/');
    match (parts.next(), parts.next()) {
        (Some(head @ ("sessions" | "accounts")), Some(_)) => {
            let rest: Vec<&str> = parts.collect();
            if rest.is_empty() {
                format!("{head}/{{id}}")
            } else {
                format!("{head}/{{id}}/{}", rest.join("/"))
            }
        }
        _ => path.to_string(),
    }
}

/// Ids go into URL paths: the reference gives UUIDs; accept only their characters.
fn id_segment(id: &str) -> Result<&str, EnableBankingError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(id)
    } else {
        Err(EnableBankingError::new(
            ErrorKind::Rejected,
            "invalid Enable Banking id (only letters, digits and '-' are allowed)",
        ))
    }
}
