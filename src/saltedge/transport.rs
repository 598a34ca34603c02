//! How the client sends a request: signed headers, retries with backoff and jitter (honouring
//! `Retry-After`), the error envelope read into a [`SaltEdgeError`], and keyset paging.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use url::Url;

use crate::aggregator_http::{self, BodyFailure};

use super::{error, signing, Client, Envelope, ErrorEnvelope, ErrorKind, Page, SaltEdgeError};

/// Safety net against a server that keeps sending `next_id`.
pub(super) const MAX_PAGES: usize = 100_000;
/// Lifetime of a signed request (`Expires-at`); Salt Edge recommends one minute.
const SIGNATURE_LIFETIME_SECS: i64 = 60;

impl Client {
    pub(super) async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(&str, String)>,
    ) -> Result<Page<T>, SaltEdgeError> {
        let envelope = self.call::<Vec<T>>(Method::GET, path, &query, None).await?;
        Ok(Page { data: envelope.data, next_id: envelope.meta.next_id })
    }

    pub(super) async fn all_pages<T: DeserializeOwned>(
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

    pub(super) async fn data<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<T, SaltEdgeError> {
        Ok(self.call::<T>(method, path, query, body).await?.data)
    }

    /// One API call with retries.
    pub(super) async fn call<T: DeserializeOwned>(
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
        let record = |outcome| {
            crate::metrics::saltedge_call(crate::metrics::CallLabels { resource: resource_of(path), outcome })
        };
        loop {
            let result = self.send_once::<T>(&method, &url, path, &body_bytes).await;
            let err = match result {
                Ok(envelope) => {
                    record("ok");
                    return Ok(envelope);
                }
                Err(err) => err,
            };
            if attempt >= self.max_retries || !retry_in_call(&err) {
                record(err.kind().metric_label());
                return Err(err);
            }
            let Some(wait) = aggregator_http::wait_before_retry(self.backoff_base, attempt, err.retry_after()) else {
                record(err.kind().metric_label());
                return Err(err);
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
        let mut response = request.send().await.map_err(|e| transport_error(method, path, e))?;
        let status = response.status().as_u16();
        let retry_after = aggregator_http::retry_after(response.headers());
        let bytes = match aggregator_http::read_capped_body(&mut response).await {
            Ok(bytes) => bytes,
            Err(BodyFailure::Transport(e)) => return Err(transport_error(method, path, e)),
            Err(BodyFailure::TooLarge) => {
                return Err(SaltEdgeError::new(ErrorKind::Protocol, aggregator_http::too_large(method, path))
                    .with_status(status))
            }
        };
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
    let what = aggregator_http::transport_failure(&err);
    // `without_url` keeps query strings out of messages; the secret is a header, never in it.
    let detail = err.without_url();
    SaltEdgeError::new(ErrorKind::RetryLater, format!("{method} {path}: {what} ({detail})"))
}

/// Next `from_id`, refusing a server that repeats the cursor (which would loop forever).
pub(super) fn next_cursor(current: &Option<String>, next: Option<String>) -> Result<Option<String>, SaltEdgeError> {
    match next {
        Some(next) if current.as_deref() == Some(next.as_str()) => {
            Err(SaltEdgeError::new(ErrorKind::Protocol, format!("paging did not advance (next_id {next} repeated)")))
        }
        Some(next) if next.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// The API resource a path addresses (its first segment), one of a fixed set, for metrics.
fn resource_of(path: &str) -> &'static str {
    const RESOURCES: &[&str] =
        &["connections", "accounts", "transactions", "customers", "providers", "consents", "countries", "leads"];
    let first = path.split(['/', '?']).next().unwrap_or("");
    RESOURCES.iter().copied().find(|r| *r == first).unwrap_or("other")
}
