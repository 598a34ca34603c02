//! What the aggregator clients (`saltedge`, `enablebanking`) share on the wire: when to try a call
//! again (exponential backoff with jitter, within a `Retry-After` the caller can afford), how a
//! transport failure is put in words, and how much of an answer's text is kept.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Longest `Retry-After` waited for inside one call; a longer one is handed to the caller.
pub const MAX_IN_CALL_WAIT: Duration = Duration::from_secs(60);
/// Upper bound of the exponential backoff between two tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest text kept from an answer (a message, an error class): a misbehaving server must not be able
/// to push whole pages into the logs.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// The wait before try `attempt + 1`: `base` doubled per attempt (capped at [`MAX_BACKOFF`]) plus up
/// to 50 % jitter, or what `Retry-After` asked if longer; `None` when it asked for more than
/// [`MAX_IN_CALL_WAIT`] (the caller returns the error instead of waiting).
pub fn wait_before_retry(base: Duration, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
    let exponential = base.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(MAX_BACKOFF);
    let jitter_ms = (exponential.as_millis() / 2) as u64;
    let jitter = if jitter_ms > 0 { Duration::from_millis(rand::random_range(0..=jitter_ms)) } else { Duration::ZERO };
    let backoff = exponential + jitter;
    match retry_after {
        Some(asked) if asked > MAX_IN_CALL_WAIT => None,
        Some(asked) => Some(asked.max(backoff)),
        None => Some(backoff),
    }
}

/// Installs ring as rustls' process-wide crypto provider (needed with reqwest's `rustls-no-provider`).
/// Safe to call many times.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client of an aggregator API: `timeout` per exchange (connecting within ten seconds at
/// most), no redirects (an API never redirects; following one would hand our credentials elsewhere).
pub fn api_http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("bankbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build HTTP client: {}", e.without_url()))
}

/// An API root URL with the trailing `/` that `Url::join` needs.
pub fn api_root(mut url: url::Url) -> url::Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// `Retry-After` in seconds, when the answer has one.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// What went wrong on the way, in words.
pub fn transport_failure(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "connection broke while reading the answer"
    } else {
        "network error"
    }
}

/// Largest answer body an aggregator client reads: a page of transactions is well under a megabyte, and a
/// body that never ends (or a hostile one) is cut here instead of being buffered whole.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Why an answer's body could not be read whole.
#[derive(Debug)]
pub enum BodyFailure {
    /// The connection broke while reading.
    Transport(reqwest::Error),
    /// The body is longer than [`MAX_BODY_BYTES`]; nothing past the limit was kept.
    TooLarge,
}

/// The answer's body, read chunk by chunk up to [`MAX_BODY_BYTES`].
pub async fn read_capped_body(response: &mut reqwest::Response) -> Result<Vec<u8>, BodyFailure> {
    if response.content_length().is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(BodyFailure::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyFailure::Transport)? {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyFailure::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The words for an answer cut at [`MAX_BODY_BYTES`].
pub fn too_large(method: &reqwest::Method, path: &str) -> String {
    format!("{method} {path}: the answer is larger than {} MiB", MAX_BODY_BYTES >> 20)
}

/// `text` cut to [`MAX_MESSAGE_CHARS`] characters (with an ellipsis when cut).
pub fn truncate(mut text: String) -> String {
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text = text.chars().take(MAX_MESSAGE_CHARS).collect();
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_is_capped_and_honours_a_short_retry_after() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let wait = wait_before_retry(base, attempt, None).unwrap();
            let exponential = base * 2u32.pow(attempt);
            assert!(wait >= exponential && wait <= exponential * 3 / 2, "{attempt}: {wait:?}");
        }
        assert!(wait_before_retry(base, 30, None).unwrap() <= MAX_BACKOFF * 3 / 2);
        assert!(wait_before_retry(base, 0, Some(Duration::from_secs(5))).unwrap() >= Duration::from_secs(5));
        assert_eq!(wait_before_retry(base, 0, Some(MAX_IN_CALL_WAIT + Duration::from_secs(1))), None);
    }

    #[test]
    fn long_texts_are_cut() {
        assert_eq!(truncate("short".into()), "short");
        let cut = truncate("é".repeat(1000));
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
