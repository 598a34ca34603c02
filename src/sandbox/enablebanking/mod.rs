//! An Enable Banking–compatible sandbox: a test double of the API that runs on loopback with in-memory
//! state, fake banks of its own, a hosted bank page, paginated transactions and the banks' read limits.
//!
//! **This is our emulator, not Enable Banking.** It follows the API reference (see `crate::enablebanking`
//! for the sections); where the reference is silent it takes the stricter reading, listed below.
//!
//! # Surface (at the server root, as `https://api.enablebanking.com/`)
//! * `GET /application`, `GET /aspsps`, `POST /auth`, `POST /sessions`, `GET|DELETE /sessions/{id}`,
//!   `GET /accounts/{uid}/details|balances|transactions` — every request must carry the application's
//!   JWT, checked as the reference's "Authorization" section says ([`auth`]); failures answer the
//!   reference's `ErrorResponse` (`{"code", "message", "error", "detail"}`).
//! * `/sandbox-bank/authorize/{authorization_id}` — the bank's hosted page (user name, password, approve
//!   or cancel); it redirects the browser to the `redirect_url` with `code` and `state`, or with
//!   `error=access_denied`, `error_description` and `state`.
//! * `/sandbox/admin/…` — test hooks, **not** Enable Banking surface ([`admin`]).
//!
//! # Banks (country and name, as the API names banks)
//! * `Mock Bank` (FI, personal and business, consents up to 180 days) and `Mock Business Bank` (DE,
//!   business only, up to 90 days): any user name, password **`secret`**. A user holds
//!   [`EbSandboxConfig::accounts_per_session`] accounts, the same ones (same `identification_hash`,
//!   IBAN and history) in every session the user authorizes.
//! * `Mock Unavailable Bank` (FI): authorization works, every account read answers 400 `ASPSP_ERROR`.
//!
//! # Conventions where the reference is silent (the stricter reading)
//! * `redirect_url` must equal one of the application's registered URLs exactly
//!   (`REDIRECT_URI_NOT_ALLOWED`); `access.valid_until` must carry an offset, lie in the future and not
//!   beyond the bank's `maximum_consent_validity` (422 `WRONG_REQUEST_PARAMETERS`).
//! * The hosted page can be completed once and for an hour; an authorization code is single-use and
//!   lives ten minutes (`WRONG_AUTHORIZATION_CODE` unknown, `ALREADY_AUTHORIZED` reused,
//!   `EXPIRED_AUTHORIZATION_CODE` late).
//! * A session past `valid_until` is `EXPIRED` (reads: 401 `EXPIRED_SESSION`), a deleted one `CLOSED`
//!   (401 `CLOSED_SESSION`), one the user withdrew at the bank `REVOKED` (401 `REVOKED_SESSION`).
//! * Reads without the user present (no `Psu-Ip-Address` header) are limited per account to
//!   [`EbSandboxConfig::unattended_reads_per_day`] (default 4) in any 24 hours, counting details,
//!   balances and transactions together (the strictest reading of PSD2's four-a-day rule); the further
//!   pages of one transactions read do not count. Beyond: 429 `ASPSP_RATE_LIMIT_EXCEEDED`.
//! * Transactions come newest first, [`EbSandboxConfig::page_size`] per page; without `date_from` only
//!   the last 90 days are listed; a `continuation_key` is valid only for the same account and query and
//!   only while the session is authorized (`WRONG_CONTINUATION_KEY`). Pending rows (`PDNG`) carry no
//!   `entry_reference`.

pub mod admin;
mod api;
pub mod auth;
mod bank_page;
pub mod data;
mod state;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use url::Url;

use state::EbState;
pub use state::{FaultConfig, FaultMode};

/// The private key of the sandbox's own application. A **test double's key**, committed on purpose: it
/// protects nothing; the bridge refuses to send it to the real Enable Banking.
pub const SANDBOX_APP_PRIVATE_KEY_PEM: &str = include_str!("keys/app_private.pem");
/// Public half of [`SANDBOX_APP_PRIVATE_KEY_PEM`]: what the sandbox checks JWTs with.
pub const SANDBOX_APP_PUBLIC_KEY_PEM: &str = include_str!("keys/app_public.pem");
/// The sandbox application's id (the JWT `kid`).
pub const SANDBOX_APP_ID: &str = "5e1f6c2a-0b7d-4e3a-9c41-eb5a2d7f0c19";

/// Sandbox settings.
#[derive(Clone)]
pub struct EbSandboxConfig {
    pub app_id: String,
    /// Shown on the bank page as who asks for access.
    pub app_name: String,
    /// Checks the application's JWTs.
    pub app_public_key_pem: String,
    /// The application's registered redirect URLs; `POST /auth` accepts only these.
    pub redirect_urls: Vec<String>,
    pub accounts_per_session: u32,
    /// Generated booked rows of each account (at most 100,000).
    pub transactions_per_account: u64,
    pub pending_per_account: u32,
    /// Transactions per page.
    pub page_size: usize,
    /// Reads without the user allowed per account in any 24 hours.
    pub unattended_reads_per_day: usize,
    /// URL the sandbox is reachable at (default: the bound address).
    pub public_url: Option<Url>,
}

impl Default for EbSandboxConfig {
    fn default() -> Self {
        EbSandboxConfig {
            app_id: SANDBOX_APP_ID.to_string(),
            app_name: "bankbridge".to_string(),
            app_public_key_pem: SANDBOX_APP_PUBLIC_KEY_PEM.to_string(),
            redirect_urls: Vec::new(),
            accounts_per_session: 2,
            transactions_per_account: 120,
            pending_per_account: 2,
            page_size: 50,
            unattended_reads_per_day: 4,
            public_url: None,
        }
    }
}

impl fmt::Debug for EbSandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EbSandboxConfig")
            .field("app_id", &self.app_id)
            .field("redirect_urls", &self.redirect_urls)
            .field("accounts_per_session", &self.accounts_per_session)
            .field("transactions_per_account", &self.transactions_per_account)
            .field("page_size", &self.page_size)
            .field("unattended_reads_per_day", &self.unattended_reads_per_day)
            .finish_non_exhaustive()
    }
}

/// Most generated rows per account (balances sum them on every read).
pub const MAX_ROWS_PER_ACCOUNT: u64 = 100_000;
/// How long the bank page of an authorization can be completed.
pub const AUTHORIZATION_LIFETIME_MINUTES: i64 = 60;
/// How long an authorization code can be exchanged.
pub const CODE_LIFETIME_MINUTES: i64 = 10;

pub(crate) struct Shared {
    pub cfg: EbSandboxConfig,
    pub root_url: Url,
    pub app_key: auth::AppKey,
    state: Mutex<EbState>,
}

impl Shared {
    /// The state; a handler that panicked while holding the lock does not wedge the sandbox.
    pub fn lock(&self) -> MutexGuard<'_, EbState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.root_url, path.trim_start_matches('/'))
    }
}

/// A running in-process sandbox.
pub struct EbSandboxHandle {
    /// API root, e.g. `http://127.0.0.1:41234/`.
    pub base_url: Url,
    pub app_id: String,
    server: ServerHandle,
}

impl fmt::Debug for EbSandboxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EbSandboxHandle").field("base_url", &self.base_url.as_str()).finish_non_exhaustive()
    }
}

impl EbSandboxHandle {
    /// Client settings for this sandbox's application (short timeout, quick retries).
    pub fn client_config(&self) -> crate::enablebanking::ClientConfig {
        let mut cfg = crate::enablebanking::ClientConfig::new(
            self.base_url.clone(),
            self.app_id.clone(),
            SANDBOX_APP_PRIVATE_KEY_PEM,
        );
        cfg.timeout = Duration::from_secs(10);
        cfg.backoff_base = Duration::from_millis(50);
        cfg
    }

    /// `{root}/sandbox/admin/{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}sandbox/admin/{}", self.base_url, path.trim_start_matches('/'))
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

fn routes(service: &mut web::ServiceConfig) {
    service
        .route("/sandbox-bank/authorize/{id}", web::get().to(bank_page::show))
        .route("/sandbox-bank/authorize/{id}", web::post().to(bank_page::submit))
        .route("/sandbox-bank/logo/{name}", web::get().to(logo))
        .service(web::scope("/sandbox/admin").configure(admin::routes))
        .default_service(web::to(api::dispatch));
}

async fn logo() -> HttpResponse {
    HttpResponse::Ok().content_type("image/svg+xml").body(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\"><rect width=\"64\" height=\"64\" fill=\"#3b6\"/></svg>",
    )
}

struct Bound {
    server: actix_web::dev::Server,
    root_url: Url,
}

fn build(cfg: EbSandboxConfig, bind: SocketAddr, in_process: bool) -> io::Result<Bound> {
    let listener = std::net::TcpListener::bind(bind)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let root_url = match &cfg.public_url {
        Some(url) if url.path().ends_with('/') => url.clone(),
        Some(url) => {
            url.join(&format!("{}/", url.path())).map_err(|e| io::Error::other(format!("sandbox URL: {e}")))?
        }
        None => {
            let host = if local.ip().is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() };
            let host = if host.contains(':') { format!("[{host}]") } else { host };
            Url::parse(&format!("http://{host}:{}/", local.port()))
                .map_err(|e| io::Error::other(format!("sandbox URL: {e}")))?
        }
    };
    let app_key = auth::AppKey::from_pem(&cfg.app_id, &cfg.app_public_key_pem).map_err(io::Error::other)?;
    let cfg = EbSandboxConfig {
        transactions_per_account: cfg.transactions_per_account.min(MAX_ROWS_PER_ACCOUNT),
        page_size: cfg.page_size.clamp(1, 1000),
        ..cfg
    };
    let shared =
        web::Data::new(Shared { cfg, root_url: root_url.clone(), app_key, state: Mutex::new(EbState::default()) });
    let mut server = HttpServer::new(move || {
        App::new().app_data(shared.clone()).app_data(web::PayloadConfig::new(64 * 1024)).configure(routes)
    })
    .listen(listener)?;
    if in_process {
        server = server.workers(1).disable_signals().shutdown_timeout(1);
    }
    Ok(Bound { server: server.run(), root_url })
}

/// Starts the sandbox in the background of the current tokio runtime (`bind` may use port 0).
pub async fn spawn(cfg: EbSandboxConfig, bind: SocketAddr) -> io::Result<EbSandboxHandle> {
    let app_id = cfg.app_id.clone();
    let bound = build(cfg, bind, true)?;
    let server = bound.server.handle();
    tokio::spawn(bound.server);
    tracing::info!(target: "sandbox", url = %bound.root_url, "Enable Banking sandbox started");
    Ok(EbSandboxHandle { base_url: bound.root_url, app_id, server })
}

/// Runs the sandbox until SIGINT/SIGTERM.
pub async fn run(cfg: EbSandboxConfig, bind: SocketAddr) -> io::Result<()> {
    let bound = build(cfg, bind, false)?;
    tracing::info!(target: "sandbox", url = %bound.root_url, "Enable Banking sandbox listening");
    bound.server.await
}
