//! Salt Edge Account Information API v6 client.
//!
//! * Authentication: `App-id` + `Secret` headers, plus `Expires-at` + `Signature` when a private
//!   key is configured (see [`signing`]).
//! * Retries: 429 (honouring `Retry-After`), 5xx, timeouts and connection errors are retried with
//!   exponential backoff and jitter, up to `max_retries` times; other 4xx never are.
//! * Errors: every failure is a [`SaltEdgeError`] whose [`ErrorKind`] says what to do next.
//!
//! Paths follow v6 (`/connections/connect`, `/connections/{id}/background_refresh`,
//! `/transactions?pending=true`, …). Consent revocation uses the v5-documented
//! `PUT /consents/{id}/revoke?connection_id=` (the v6 verb is unverified; the sandbox accepts it).

pub mod error;
pub mod signing;
pub mod types;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use url::Url;

pub use error::{ErrorKind, SaltEdgeError};
pub use signing::{sign, verify_callback, KeyError, RsaSigner};
pub use types::*;

/// Salt Edge's production base URL for API v6.
pub const DEFAULT_BASE_URL: &str = "https://www.saltedge.com/api/v6/";

/// Longest wait we accept from a `Retry-After` inside one call; a longer one is returned to the
/// caller as a [`ErrorKind::RetryLater`] error carrying `retry_after`.
const MAX_IN_CALL_WAIT: Duration = Duration::from_secs(60);
/// Upper bound of the exponential backoff between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Safety net against a server that keeps sending `next_id`.
const MAX_PAGES: usize = 100_000;
/// Lifetime of a signed request (`Expires-at`); Salt Edge recommends one minute.
const SIGNATURE_LIFETIME_SECS: i64 = 60;

/// Client settings. `Debug` shows neither the secret nor the key.
#[derive(Clone)]
pub struct ClientConfig {
    /// API root, e.g. `https://www.saltedge.com/api/v6/` (a missing trailing `/` is added).
    pub base_url: Url,
    pub app_id: String,
    pub secret: String,
    /// PEM private key (PKCS#8 or PKCS#1) for request signatures; `None` sends no signature.
    pub private_key_pem: Option<String>,
    /// Timeout of one HTTP exchange (connect + answer).
    pub timeout: Duration,
    /// How many times a transient failure is retried (0 = try once).
    pub max_retries: u32,
    /// First backoff delay; it doubles on each retry (plus jitter).
    pub backoff_base: Duration,
}

impl ClientConfig {
    /// Settings with sensible defaults: 30 s timeout, 4 retries, 500 ms backoff base.
    pub fn new(base_url: Url, app_id: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientConfig {
            base_url,
            app_id: app_id.into(),
            secret: secret.into(),
            private_key_pem: None,
            timeout: Duration::from_secs(30),
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("app_id", &self.app_id)
            .field("secret", &"<redacted>")
            .field("private_key_pem", &self.private_key_pem.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .finish()
    }
}

/// What a new connection may read (`consent.scopes`) and from when.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// Preselected provider; `None` lets the user pick one in the widget.
    pub provider_code: Option<String>,
    pub return_to: String,
    /// Subset of `accounts`, `transactions`, `holder_info`.
    pub scopes: Vec<String>,
    pub from_date: Option<NaiveDate>,
    /// Echoed back in callbacks (≤ 1 KB).
    pub custom_fields: Option<Value>,
    /// Also offer Salt Edge's fake providers (country XF) in the widget.
    pub include_sandboxes: bool,
    pub locale: Option<String>,
}

impl ConnectOptions {
    pub fn new(return_to: impl Into<String>) -> Self {
        ConnectOptions {
            provider_code: None,
            return_to: return_to.into(),
            scopes: vec!["accounts".into(), "transactions".into()],
            from_date: None,
            custom_fields: None,
            include_sandboxes: false,
            locale: None,
        }
    }
}

/// Salt Edge v6 API client. Cheap to clone (shares the HTTP pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    app_id: String,
    secret: String,
    signer: Option<Arc<RsaSigner>>,
    max_retries: u32,
    backoff_base: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url.as_str())
            .field("app_id", &self.app_id)
            .field("signs_requests", &self.signer.is_some())
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

/// Installs ring as rustls' process-wide crypto provider (needed with reqwest's
/// `rustls-no-provider`). Safe to call many times.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, SaltEdgeError> {
        install_crypto_provider();
        let signer =
            match cfg.private_key_pem.as_deref() {
                Some(pem) => Some(Arc::new(RsaSigner::from_pem(pem).map_err(|e| {
                    SaltEdgeError::new(ErrorKind::Config, format!("Salt Edge private key unusable: {e}"))
                })?)),
                None => None,
            };
        let mut base_url = cfg.base_url;
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            // The API never redirects; following one could leak our headers elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bankbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SaltEdgeError::new(ErrorKind::Config, format!("cannot build HTTP client: {}", e.without_url()))
            })?;
        Ok(Client {
            http,
            base_url,
            app_id: cfg.app_id,
            secret: cfg.secret,
            signer,
            max_retries: cfg.max_retries,
            backoff_base: cfg.backoff_base,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    // ---------------------------------------------------------------- providers & customers

    /// All providers (every page), optionally of one country; `include_fake` adds the fake
    /// providers of country XF.
    pub async fn list_providers(
        &self,
        country_code: Option<&str>,
        include_fake: bool,
    ) -> Result<Vec<Provider>, SaltEdgeError> {
        let mut query = Vec::new();
        if let Some(country) = country_code {
            query.push(("country_code", country.to_string()));
        }
        if include_fake {
            query.push(("include_sandboxes", "true".to_string()));
        }
        self.all_pages("providers", query).await
    }

    pub async fn create_customer(&self, identifier: &str) -> Result<Customer, SaltEdgeError> {
        let body = json!({ "data": { "identifier": identifier } });
        self.data(Method::POST, "customers", &[], Some(body)).await
    }

    /// Pages through `GET /customers` (Salt Edge cannot filter by identifier) and returns the
    /// customer with this identifier, if any.
    pub async fn find_customer(&self, identifier: &str) -> Result<Option<Customer>, SaltEdgeError> {
        let mut from_id: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = Vec::new();
            if let Some(id) = &from_id {
                query.push(("from_id", id.clone()));
            }
            let page = self.page::<Customer>("customers", query).await?;
            if let Some(found) = page.data.into_iter().find(|c| c.identifier == identifier) {
                return Ok(Some(found));
            }
            match next_cursor(&from_id, page.next_id)? {
                Some(next) => from_id = Some(next),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Creates the customer, or finds the existing one when Salt Edge answers
    /// `DuplicatedCustomer`.
    pub async fn get_or_create_customer(&self, identifier: &str) -> Result<Customer, SaltEdgeError> {
        match self.create_customer(identifier).await {
            Ok(customer) => Ok(customer),
            Err(err) if err.kind() == ErrorKind::Duplicate => self.find_customer(identifier).await?.ok_or_else(|| {
                SaltEdgeError::new(
                    ErrorKind::Protocol,
                    "customer reported as duplicated but not found in the customer list",
                )
            }),
            Err(err) => Err(err),
        }
    }

    pub async fn remove_customer(&self, customer_id: &str) -> Result<(), SaltEdgeError> {
        let path = format!("customers/{}", id_segment(customer_id)?);
        match self.data::<Value>(Method::DELETE, &path, &[], None).await {
            Ok(_) => Ok(()),
            Err(err) if err.class() == Some("CustomerNotFound") => Ok(()),
            Err(err) => Err(err),
        }
    }

    // ---------------------------------------------------------------- connect widget

    /// Starts linking a bank: `POST /connections/connect` → the URL to send the user to.
    pub async fn connect(
        &self,
        customer_id: &str,
        provider_code: Option<&str>,
        return_to: &str,
        scopes: &[&str],
        from_date: Option<NaiveDate>,
    ) -> Result<ConnectSession, SaltEdgeError> {
        let mut options = ConnectOptions::new(return_to);
        options.provider_code = provider_code.map(str::to_string);
        options.scopes = scopes.iter().map(|s| s.to_string()).collect();
        options.from_date = from_date;
        self.connect_with(customer_id, &options).await
    }

    /// [`Client::connect`] with every option.
    pub async fn connect_with(
        &self,
        customer_id: &str,
        options: &ConnectOptions,
    ) -> Result<ConnectSession, SaltEdgeError> {
        let mut consent = json!({ "scopes": options.scopes });
        let mut attempt = json!({
            "fetch_scopes": fetch_scopes(&options.scopes),
            "return_to": options.return_to,
        });
        if let Some(from) = options.from_date {
            let from = from.format("%Y-%m-%d").to_string();
            consent["from_date"] = json!(from);
            attempt["fetch_from_date"] = json!(from);
        }
        if let Some(fields) = &options.custom_fields {
            attempt["custom_fields"] = fields.clone();
        }
        if let Some(locale) = &options.locale {
            attempt["locale"] = json!(locale);
        }
        let mut provider = json!({ "include_sandboxes": options.include_sandboxes });
        if let Some(code) = &options.provider_code {
            provider["code"] = json!(code);
        }
        let body = json!({ "data": {
            "customer_id": customer_id,
            "consent": consent,
            "attempt": attempt,
            "provider": provider,
            "return_connection_id": true,
            "return_error_class": true,
        }});
        self.data(Method::POST, "connections/connect", &[], Some(body)).await
    }

    /// Widget to update credentials / renew consent of an existing connection.
    pub async fn reconnect(&self, connection_id: &str, return_to: &str) -> Result<ConnectSession, SaltEdgeError> {
        let scopes = ["accounts", "transactions"];
        let body = json!({ "data": {
            "consent": { "scopes": scopes },
            "attempt": { "fetch_scopes": scopes, "return_to": return_to },
            "return_connection_id": true,
            "return_error_class": true,
        }});
        let path = format!("connections/{}/reconnect", id_segment(connection_id)?);
        self.data(Method::POST, &path, &[], Some(body)).await
    }

    /// Widget refresh (the user is present, e.g. for an SMS code).
    pub async fn refresh(&self, connection_id: &str, return_to: &str) -> Result<ConnectSession, SaltEdgeError> {
        let body = json!({ "data": {
            "attempt": { "fetch_scopes": ["accounts", "transactions"], "return_to": return_to },
            "return_connection_id": true,
            "return_error_class": true,
        }});
        let path = format!("connections/{}/refresh", id_segment(connection_id)?);
        self.data(Method::POST, &path, &[], Some(body)).await
    }

    /// Refresh without the user. `ConnectionCannotBeRefreshed` (too early) comes back as a
    /// [`ErrorKind::RetryLater`] error.
    pub async fn background_refresh(&self, connection_id: &str) -> Result<BackgroundRefresh, SaltEdgeError> {
        let body = json!({ "data": { "attempt": { "fetch_scopes": ["accounts", "transactions"] } } });
        let path = format!("connections/{}/background_refresh", id_segment(connection_id)?);
        self.data(Method::POST, &path, &[], Some(body)).await
    }

    // ---------------------------------------------------------------- connections & consents

    pub async fn get_connection(&self, connection_id: &str) -> Result<Connection, SaltEdgeError> {
        let path = format!("connections/{}", id_segment(connection_id)?);
        self.data(Method::GET, &path, &[], None).await
    }

    pub async fn list_connections(&self, customer_id: &str) -> Result<Vec<Connection>, SaltEdgeError> {
        self.all_pages("connections", vec![("customer_id", customer_id.to_string())]).await
    }

    /// Removes a connection (and its consent, accounts and transactions at Salt Edge).
    /// Already gone (`ConnectionNotFound`, and only that) counts as done.
    pub async fn remove_connection(&self, connection_id: &str) -> Result<(), SaltEdgeError> {
        let path = format!("connections/{}", id_segment(connection_id)?);
        match self.data::<RemovedConnection>(Method::DELETE, &path, &[], None).await {
            Ok(_) => Ok(()),
            Err(err) if err.class() == Some("ConnectionNotFound") => Ok(()),
            Err(err) => Err(err),
        }
    }

    pub async fn list_consents(&self, connection_id: &str) -> Result<Vec<Consent>, SaltEdgeError> {
        self.all_pages("consents", vec![("connection_id", connection_id.to_string())]).await
    }

    pub async fn revoke_consent(&self, connection_id: &str, consent_id: &str) -> Result<Consent, SaltEdgeError> {
        let path = format!("consents/{}/revoke", id_segment(consent_id)?);
        self.data(Method::PUT, &path, &[("connection_id", connection_id.to_string())], None).await
    }

    // ---------------------------------------------------------------- accounts & transactions

    pub async fn list_accounts(&self, connection_id: &str) -> Result<Vec<Account>, SaltEdgeError> {
        self.all_pages("accounts", vec![("connection_id", connection_id.to_string())]).await
    }

    /// One page of an account's transactions, oldest id first, starting at `from_id`
    /// (inclusive). `pending = true` lists pending transactions instead of posted ones.
    /// Commit the page, then ask for `next_id` until it is `None`.
    pub async fn transactions_page(
        &self,
        connection_id: &str,
        account_id: &str,
        from_id: Option<&str>,
        pending: bool,
        per_page: u32,
    ) -> Result<Page<Transaction>, SaltEdgeError> {
        let mut query = vec![("connection_id", connection_id.to_string()), ("account_id", account_id.to_string())];
        if let Some(from) = from_id {
            query.push(("from_id", from.to_string()));
        }
        if pending {
            query.push(("pending", "true".to_string()));
        }
        if per_page > 0 {
            query.push(("per_page", per_page.to_string()));
        }
        self.page("transactions", query).await
    }

    // ---------------------------------------------------------------- plumbing

    async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(&str, String)>,
    ) -> Result<Page<T>, SaltEdgeError> {
        let envelope = self.call::<Vec<T>>(Method::GET, path, &query, None).await?;
        Ok(Page { data: envelope.data, next_id: envelope.meta.next_id })
    }

    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(&str, String)>,
    ) -> Result<Vec<T>, SaltEdgeError> {
        let mut items = Vec::new();
        let mut from_id: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_query = query.clone();
            if let Some(id) = &from_id {
                page_query.push(("from_id", id.clone()));
            }
            let page = self.page::<T>(path, page_query).await?;
            items.extend(page.data);
            match next_cursor(&from_id, page.next_id)? {
                Some(next) => from_id = Some(next),
                None => return Ok(items),
            }
        }
        Err(SaltEdgeError::new(ErrorKind::Protocol, format!("GET {path}: more than {MAX_PAGES} pages")))
    }

    async fn data<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<T, SaltEdgeError> {
        Ok(self.call::<T>(method, path, query, body).await?.data)
    }

    /// One API call with retries.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Envelope<T>, SaltEdgeError> {
        let mut url = self
            .base_url
            .join(path)
            .map_err(|e| SaltEdgeError::new(ErrorKind::Config, format!("bad Salt Edge URL for {path}: {e}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        let body_bytes = match &body {
            Some(value) => serde_json::to_vec(value)
                .map_err(|e| SaltEdgeError::new(ErrorKind::Protocol, format!("cannot encode request: {e}")))?,
            None => Vec::new(),
        };
        let mut attempt: u32 = 0;
        loop {
            let result = self.send_once::<T>(&method, &url, path, &body_bytes).await;
            let err = match result {
                Ok(envelope) => return Ok(envelope),
                Err(err) => err,
            };
            if attempt >= self.max_retries || !retry_in_call(&err) {
                return Err(err);
            }
            let backoff = self.backoff(attempt);
            let wait = match err.retry_after() {
                Some(asked) if asked > MAX_IN_CALL_WAIT => return Err(err),
                Some(asked) => asked.max(backoff),
                None => backoff,
            };
            tracing::debug!(
                target: "saltedge",
                %method, path, attempt, wait_ms = wait.as_millis() as u64, error = %err,
                "retrying Salt Edge call"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Exponential backoff with up to 50 % jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self.backoff_base.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(MAX_BACKOFF);
        let jitter_ms = (exponential.as_millis() / 2) as u64;
        let jitter =
            if jitter_ms > 0 { Duration::from_millis(rand::random_range(0..=jitter_ms)) } else { Duration::ZERO };
        exponential + jitter
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        body: &[u8],
    ) -> Result<Envelope<T>, SaltEdgeError> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("App-id", &self.app_id)
            .header("Secret", &self.secret)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if let Some(signer) = &self.signer {
            let expires_at = chrono::Utc::now().timestamp() + SIGNATURE_LIFETIME_SECS;
            let message = signing::request_string_to_sign(expires_at, method.as_str(), url.as_str(), body);
            let signature = signer
                .sign_base64(&message)
                .map_err(|e| SaltEdgeError::new(ErrorKind::Config, format!("cannot sign request: {e}")))?;
            request = request.header("Expires-at", expires_at.to_string()).header("Signature", signature);
        }
        if !body.is_empty() {
            request = request.body(body.to_vec());
        }
        let response = request.send().await.map_err(|e| transport_error(method, path, e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| transport_error(method, path, e))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice::<Envelope<T>>(&bytes).map_err(|e| {
                SaltEdgeError::new(ErrorKind::Protocol, format!("unexpected answer to {method} {path}: {e}"))
                    .with_status(status)
            });
        }
        let err = match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
            Ok(envelope) if !envelope.error.class.is_empty() => {
                SaltEdgeError::from_api(status, &envelope.error.class, &envelope.error.message)
            }
            _ => SaltEdgeError::new(
                error::classify_status(status),
                format!("{method} {path} answered HTTP {status} without a Salt Edge error body"),
            )
            .with_status(status),
        };
        let err = if status == 429 && err.class().is_none() { err.with_class("TooManyRequests") } else { err };
        Err(err.with_retry_after(retry_after))
    }
}

/// Transient failures worth retrying inside one call: transport errors, 429 and 5xx. Other
/// "retry later" answers (refresh too early, fetch limit) would fail again right away.
fn retry_in_call(err: &SaltEdgeError) -> bool {
    err.kind() == ErrorKind::RetryLater
        && match err.http_status() {
            None => true,
            Some(status) => status == 429 || status >= 500,
        }
}

fn transport_error(method: &Method, path: &str, err: reqwest::Error) -> SaltEdgeError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "connection broke while reading the answer"
    } else {
        "network error"
    };
    // `without_url` keeps query strings out of messages; the secret is a header, never in it.
    let detail = err.without_url();
    SaltEdgeError::new(ErrorKind::RetryLater, format!("{method} {path}: {what} ({detail})"))
}

/// Next `from_id`, refusing a server that repeats the cursor (which would loop forever).
fn next_cursor(current: &Option<String>, next: Option<String>) -> Result<Option<String>, SaltEdgeError> {
    match next {
        Some(next) if current.as_deref() == Some(next.as_str()) => {
            Err(SaltEdgeError::new(ErrorKind::Protocol, format!("paging did not advance (next_id {next} repeated)")))
        }
        Some(next) if next.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Ids go into URL paths: accept only the characters Salt Edge ids are made of.
fn id_segment(id: &str) -> Result<&str, SaltEdgeError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(id)
    } else {
        Err(SaltEdgeError::new(
            ErrorKind::Rejected,
            "invalid Salt Edge id (only letters, digits, '-' and '_' are allowed)",
        ))
    }
}

/// `attempt.fetch_scopes` for a set of consent scopes.
fn fetch_scopes(scopes: &[String]) -> Vec<String> {
    scopes
        .iter()
        .filter(|scope| matches!(scope.as_str(), "accounts" | "transactions" | "holder_info"))
        .cloned()
        .collect()
}
