//! Salt Edge Account Information API v6 client.
//!
//! * Authentication: `App-id` + `Secret` headers, plus `Expires-at` + `Signature` when a private
//!   key is configured (see [`signing`]).
//! * Retries: 429 (honouring `Retry-After`), 5xx, timeouts and connection errors are retried with
//!   exponential backoff and jitter, up to `max_retries` times; other 4xx never are.
//! * Errors: every failure is a [`SaltEdgeError`] whose [`ErrorKind`] says what to do next, and what it
//!   means for a bank link in the sync engine's neutral words (`types::Failure`).
//!
//! This file holds the endpoints; `transport` sends a request (signing, retries, paging), `types` reads
//! the answers.
//!
//! Paths follow v6 (`/connections/connect`, `/connections/{id}/background_refresh`,
//! `/transactions?pending=true`, …). Consent revocation uses the v5-documented
//! `PUT /consents/{id}/revoke?connection_id=` (the v6 verb is unverified; the sandbox accepts it).

pub mod error;
pub mod signing;
mod transport;
pub mod types;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

use crate::aggregator_http;

pub use error::{ErrorKind, SaltEdgeError};
pub use signing::{sign, verify_callback, KeyError, RsaSigner};
pub use types::*;

use transport::{next_cursor, MAX_PAGES};

/// Salt Edge's production base URL for API v6.
pub const DEFAULT_BASE_URL: &str = "https://www.saltedge.com/api/v6/";

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

pub use crate::aggregator_http::install_crypto_provider;

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, SaltEdgeError> {
        let signer =
            match cfg.private_key_pem.as_deref() {
                Some(pem) => Some(Arc::new(RsaSigner::from_pem(pem).map_err(|e| {
                    SaltEdgeError::new(ErrorKind::Config, format!("Salt Edge private key unusable: {e}"))
                })?)),
                None => None,
            };
        let base_url = aggregator_http::api_root(cfg.base_url);
        let http =
            aggregator_http::api_http_client(cfg.timeout).map_err(|e| SaltEdgeError::new(ErrorKind::Config, e))?;
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
