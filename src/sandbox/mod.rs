//! A Salt Edge v6–compatible sandbox: a test double of the real API that runs on loopback with
//! in-memory state, Salt Edge's fake providers, a hosted connect page, signed callbacks and
//! deterministic transactions in any volume.
//!
//! **This is our emulator, not Salt Edge.** Where Salt Edge's behaviour is undocumented the
//! sandbox follows the conventions below; they are not promises about the real service.
//!
//! # Surface
//! * `/api/v6/…` — the Salt Edge endpoints the client uses (providers, customers,
//!   connections connect/reconnect/refresh/background_refresh/show/list/remove, consents
//!   list/show/revoke, accounts, transactions with `from_id`/`per_page`/`pending`/`duplicated`,
//!   countries), with `App-id`/`Secret` checks (401 `ClientNotFound` / `WrongClientSecret`),
//!   optional request-signature checks, Salt Edge error envelopes and keyset paging.
//! * `/connect/{token}` — the hosted widget (credentials form + consent checkbox).
//! * `/sandbox/public_key` — PEM of the key that signs callbacks ([`SANDBOX_PUBLIC_KEY_PEM`]).
//! * `/sandbox/admin/…` — test hooks, **not** Salt Edge surface (see [`admin`]).
//!
//! # Fake providers (country XF) and their conventions
//! * `fakebank_simple_xf` — any login, password `secret`. Linking the same login twice for the
//!   same customer fails with `ConnectionDuplicated` (shown on the page, fail callback).
//! * `fakebank_interactive_xf` — same, plus an SMS code: **`123456`** (wrong →
//!   `InvalidInteractiveCredentials`).
//! * `fakebank_with_error_xf` — always fails. The password names the error class
//!   (e.g. `ProviderUnavailable`, `ConnectionFailed`); anything else gives `InvalidCredentials`.
//! * `fake_demobank_xf`, `fake_client_xf` and the fictional banks of DE/FR/ES/NL/GB/IT behave like
//!   `fakebank_simple_xf` (`credit_modele_fr` like the interactive one).
//!
//! **The sandbox is a client in Test status.** Salt Edge shows its fake providers only to
//! Test/Pending clients, and only when asked: `GET /providers?include_sandboxes=true` and
//! `provider.include_sandboxes: true` in `POST /connections/connect` (the v5 switch
//! `include_fake_providers` and the flat `provider_code` are not v6 and are not honoured). A fake
//! provider code without `include_sandboxes` is `ProviderNotFound`, as for a Live client.
//! Provider objects use the v6 field names (`interactive_for_connections`,
//! `instruction_for_connections`, `credentials_fields`, `interactive_fields`, …).
//! `fake_client_xf` and the fictional banks are `regulated` (PSD2): 4 background refreshes per
//! 24 hours, then 406 `BackgroundFetchLimitExceeded`.
//!
//! Interactive banks reach an `interactive` stage, announced by an `interactive` callback
//! (`html`, `session_expires_at`, `interactive_fields_names`). On the hosted page the SMS code
//! is typed with the credentials, so the attempt goes on; a background refresh has nobody to
//! type it and fails with `InteractiveTimeout` (the connection stays active).
//!
//! # Attempts are asynchronous (as at Salt Edge)
//! Connect (after the hosted page), reconnect, refresh and background_refresh start an attempt
//! and answer at once: `last_attempt.finished: false`, stage `start`, `next_refresh_possible_at:
//! null`. Over [`SandboxConfig::attempt_delay`] (default 1.5 s; CLI `--attempt-delay-ms` /
//! `--sandbox-attempt-delay-ms`, env `BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS`) it goes through
//! `connect`, `fetch_accounts`, `fetch_recent` (one signed `notify` callback each), then
//! `finish`: only then do a new connection's accounts, or a refresh's settled and new rows,
//! appear, followed by the `success` callback. A second attempt while one runs is refused with
//! 409 `ConnectionAlreadyProcessing`. A zero delay (instant mode) runs the attempt inside the
//! request: for benchmarks only.
//!
//! # Connect flow
//! A failed *new* link creates nothing (the page shows the error, a `fail` callback is sent
//! with `connection_id: null`, and a link back to `return_to?error_class=…` is offered). A failed
//! reconnect marks the connection `inactive`. On success the connection is created at once and
//! the browser is redirected (302) to `return_to` with `connection_id` appended **before** the
//! attempt has fetched anything.
//!
//! # Data
//! Each new connection gets `accounts_per_connection` accounts with `transactions_per_account`
//! posted and `pending_per_account` pending rows, generated on the fly (see [`data`]). A finished
//! refresh (widget, background or reconnect) settles all pending rows (they reappear as posted
//! rows with new ids), adds `new_per_refresh` posted rows made that day (with two or more, the
//! last repeats the first and is flagged `duplicated: true`) and `pending_per_account` new
//! pending rows. `GET /transactions` lists the posted, non-duplicated rows; `pending=true` only
//! the pending ones, `duplicated=true` only the duplicated ones (v5 had separate `/pending` and
//! `/duplicates` routes; the v6 flags are read the same way).

pub mod admin;
mod api;
mod attempts;
mod callbacks;
pub mod connect_page;
pub mod data;
/// The Enable Banking emulator (its own server, beside this Salt Edge one).
pub mod enablebanking;
mod endless_body;
mod state;

#[cfg(test)]
pub(crate) mod test_support;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use url::Url;

use crate::saltedge::signing::RsaSigner;
pub use connect_page::{submit_form, FormResult};
use state::SandboxState;
pub use state::{FaultConfig, FaultMode};

/// Private key that signs the sandbox's callbacks. A **test double's key**, committed on
/// purpose: it protects nothing and must never be used for anything real.
pub const SANDBOX_PRIVATE_KEY_PEM: &str = include_str!("keys/sandbox_private.pem");
/// Public half of [`SANDBOX_PRIVATE_KEY_PEM`]: what a bridge uses to verify sandbox callbacks.
pub const SANDBOX_PUBLIC_KEY_PEM: &str = include_str!("keys/sandbox_public.pem");

/// Default [`SandboxConfig::attempt_delay`].
pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(1500);

/// Sandbox settings.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Credentials the sandbox accepts in `App-id` / `Secret`.
    pub app_id: String,
    /// The client application's name (Salt Edge takes it from the dashboard): who the connect
    /// page says is asking, unless the request names a company (see `connect_page`).
    pub client_name: String,
    pub secret: String,
    /// Where callbacks go: `{base}/saltedge/callbacks/{success,fail,notify,destroy}`.
    pub callback_base_url: Option<Url>,
    /// Posted transactions of each new account (generated, never stored; 1,000,000 is fine).
    pub transactions_per_account: u64,
    /// Pending transactions of each new account, and new ones created by each refresh.
    pub pending_per_account: u32,
    /// New posted transactions each refresh brings per account; with two or more, the last one
    /// repeats the first and is flagged `duplicated` (listed only with `duplicated=true`).
    pub new_per_refresh: u32,
    /// Default page size of list endpoints; `per_page` may ask for up to 1000.
    pub page_size: u32,
    pub accounts_per_connection: u32,
    /// Time between two allowed refreshes (`next_refresh_possible_at`).
    pub refresh_interval: Duration,
    /// How long an attempt (connect, reconnect, refresh, background refresh) runs before its
    /// data appears. Zero = instant mode, for benchmarks only: Salt Edge is never instant.
    pub attempt_delay: Duration,
    /// Lifetime of a consent.
    pub consent_days: u32,
    /// When set, a request carrying a `Signature` header is verified against this key.
    pub client_public_key_pem: Option<String>,
    /// Refuse requests without `Signature` (`MissingSignature`), like a live Salt Edge app.
    pub require_signature: bool,
    /// URL the sandbox is reachable at, for `connect_url`s (default: the bound address, with
    /// 127.0.0.1 for an unspecified bind address).
    pub public_url: Option<Url>,
    /// PEM of the private key that signs callbacks, instead of the committed test key (whose private
    /// half is public, so a bridge trusts it only from its built-in sandbox): lets bridges that share
    /// one standalone sandbox verify its callbacks with `--saltedge-callback-key`.
    pub signing_key_pem: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            app_id: "sandbox-app-id".to_string(),
            client_name: "bankbridge".to_string(),
            secret: "sandbox-secret".to_string(),
            callback_base_url: None,
            transactions_per_account: 300,
            pending_per_account: 2,
            new_per_refresh: 5,
            page_size: 1000,
            accounts_per_connection: 2,
            refresh_interval: Duration::from_secs(5 * 60),
            attempt_delay: DEFAULT_ATTEMPT_DELAY,
            consent_days: 90,
            client_public_key_pem: None,
            require_signature: false,
            public_url: None,
            signing_key_pem: None,
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("app_id", &self.app_id)
            .field("client_name", &self.client_name)
            .field("secret", &"<redacted>")
            .field("callback_base_url", &self.callback_base_url.as_ref().map(Url::as_str))
            .field("transactions_per_account", &self.transactions_per_account)
            .field("pending_per_account", &self.pending_per_account)
            .field("new_per_refresh", &self.new_per_refresh)
            .field("page_size", &self.page_size)
            .field("accounts_per_connection", &self.accounts_per_connection)
            .field("refresh_interval", &self.refresh_interval)
            .field("attempt_delay", &self.attempt_delay)
            .field("consent_days", &self.consent_days)
            .field("verifies_signatures", &self.client_public_key_pem.is_some())
            .field("require_signature", &self.require_signature)
            .field("public_url", &self.public_url.as_ref().map(Url::as_str))
            .field("own_signing_key", &self.signing_key_pem.is_some())
            .finish()
    }
}

/// State shared by all handlers.
pub(crate) struct Shared {
    pub cfg: SandboxConfig,
    pub root_url: Url,
    state: Mutex<SandboxState>,
    pub signer: RsaSigner,
    pub callback_http: reqwest::Client,
}

impl Shared {
    fn new(cfg: SandboxConfig, root_url: Url) -> io::Result<Shared> {
        crate::saltedge::install_crypto_provider();
        let signer = RsaSigner::from_pem(cfg.signing_key_pem.as_deref().unwrap_or(SANDBOX_PRIVATE_KEY_PEM))
            .map_err(|e| io::Error::other(format!("sandbox signing key: {e}")))?;
        let callback_http = reqwest::Client::builder()
            .timeout(callbacks::CALLBACK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| io::Error::other(format!("callback HTTP client: {e}")))?;
        Ok(Shared { cfg, root_url, state: Mutex::new(SandboxState::default()), signer, callback_http })
    }

    /// The state; a handler that panicked while holding the lock does not wedge the sandbox.
    pub fn lock(&self) -> MutexGuard<'_, SandboxState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `{root}/{path}` as a string (root has a trailing slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.root_url, path.trim_start_matches('/'))
    }
}

/// A running in-process sandbox.
pub struct SandboxHandle {
    /// API base, e.g. `http://127.0.0.1:41234/api/v6/`.
    pub base_url: Url,
    /// Server root, e.g. `http://127.0.0.1:41234/`.
    pub root_url: Url,
    pub app_id: String,
    pub secret: String,
    /// Key to verify the sandbox's callbacks with.
    pub public_key_pem: String,
    server: ServerHandle,
}

impl fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("base_url", &self.base_url.as_str())
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// Client settings pointing at this sandbox (short timeout, quick retries).
    pub fn client_config(&self) -> crate::saltedge::ClientConfig {
        let mut cfg =
            crate::saltedge::ClientConfig::new(self.base_url.clone(), self.app_id.clone(), self.secret.clone());
        cfg.timeout = Duration::from_secs(10);
        cfg.backoff_base = Duration::from_millis(50);
        cfg
    }

    /// `{root}/sandbox/admin/{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}sandbox/admin/{}", self.root_url, path.trim_start_matches('/'))
    }

    /// Stops the server (in-flight requests get a second to finish).
    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

fn root_url_for(cfg: &SandboxConfig, local: SocketAddr) -> io::Result<Url> {
    if let Some(url) = &cfg.public_url {
        let mut url = url.clone();
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        return Ok(url);
    }
    let ip = match local.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    Url::parse(&format!("http://{host}:{}/", local.port())).map_err(|e| io::Error::other(format!("sandbox URL: {e}")))
}

fn routes(service: &mut web::ServiceConfig) {
    service
        .route("/api/v6/{tail:.*}", web::to(api::dispatch))
        // Other API versions (v5's connect_sessions, …) do not exist here.
        .route("/api/{tail:.*}", web::to(api::unknown_version))
        .route("/connect/{token}", web::get().to(connect_page::show))
        .route("/connect/{token}", web::post().to(connect_page::submit))
        .route("/sandbox/public_key", web::get().to(public_key))
        .service(web::scope("/sandbox/admin").configure(admin::routes))
        .route("/", web::get().to(index));
}

async fn public_key() -> HttpResponse {
    HttpResponse::Ok().content_type("application/x-pem-file").body(SANDBOX_PUBLIC_KEY_PEM)
}

async fn index(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(format!(
        "bankbridge Salt Edge sandbox (a test double, not Salt Edge).\nAPI: {}api/v6/\nCallback key: {}sandbox/public_key\n",
        shared.root_url, shared.root_url
    ))
}

struct Bound {
    server: actix_web::dev::Server,
    base_url: Url,
    root_url: Url,
}

fn build(cfg: SandboxConfig, bind: SocketAddr, in_process: bool) -> io::Result<Bound> {
    let listener = std::net::TcpListener::bind(bind)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let root_url = root_url_for(&cfg, local)?;
    let base_url = root_url.join("api/v6/").map_err(|e| io::Error::other(format!("sandbox URL: {e}")))?;
    let shared = web::Data::new(Shared::new(cfg, root_url.clone())?);
    let mut server = HttpServer::new(move || {
        App::new().app_data(shared.clone()).app_data(web::PayloadConfig::new(1 << 20)).configure(routes)
    })
    .listen(listener)?;
    if in_process {
        // The host process owns Ctrl-C; one worker is plenty for tests.
        server = server.workers(1).disable_signals().shutdown_timeout(1);
    }
    Ok(Bound { server: server.run(), base_url, root_url })
}

/// Starts the sandbox in the background of the current tokio runtime (`bind` may use port 0).
pub async fn spawn(cfg: SandboxConfig, bind: SocketAddr) -> io::Result<SandboxHandle> {
    let app_id = cfg.app_id.clone();
    let secret = cfg.secret.clone();
    let bound = build(cfg, bind, true)?;
    let server = bound.server.handle();
    tokio::spawn(bound.server);
    tracing::info!(target: "sandbox", url = %bound.base_url, "Salt Edge sandbox started");
    Ok(SandboxHandle {
        base_url: bound.base_url,
        root_url: bound.root_url,
        app_id,
        secret,
        public_key_pem: SANDBOX_PUBLIC_KEY_PEM.to_string(),
        server,
    })
}

/// Runs the sandbox until SIGINT/SIGTERM (`bankbridge sandbox --port N`).
pub async fn run(cfg: SandboxConfig, bind: SocketAddr) -> io::Result<()> {
    let bound = build(cfg, bind, false)?;
    tracing::info!(target: "sandbox", url = %bound.base_url, "Salt Edge sandbox listening");
    bound.server.await
}

#[cfg(test)]
mod tests;
