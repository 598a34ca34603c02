//! Starting the bridge: database, the aggregators (Salt Edge and Enable Banking, or their in-process
//! sandboxes), scheduler, HTTP server with request limits (`connections`), graceful shutdown.

mod connections;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App as ActixApp, HttpServer};

use crate::app::App;
use crate::bank::{Bank, Banks, EnableBanking};
use crate::db::{self, DatabaseUrl};
use crate::enablebanking::PsuType;
use crate::error::{Error, Result};
use crate::saltedge::{self, ClientConfig};
use crate::sandbox::enablebanking::{self as eb_sandbox, EbSandboxConfig};
use crate::sandbox::{self, SandboxConfig};
use crate::sync::{self, store};
use crate::types::client_address::TrustedProxies;

pub use connections::REQUEST_BODY_DEADLINE;

/// Where Salt Edge is, and how the bridge identifies itself to it.
#[derive(Clone, Debug, Default)]
pub struct SaltEdgeOptions {
    /// API root, e.g. `https://www.saltedge.com/api/v6/`.
    pub url: Option<String>,
    pub app_id: Option<String>,
    pub secret: Option<String>,
    /// PEM file of the private key that signs requests.
    pub private_key_file: Option<String>,
    /// PEM file of Salt Edge's public key that signs callbacks (default: Salt Edge's published key).
    pub callback_key_file: Option<String>,
    /// Pass `include_sandboxes` to Salt Edge: a Test-status client's fake providers (country XF).
    pub include_sandboxes: bool,
    /// Odoo base URLs a `return_to` may point into (empty: each company's first one).
    pub odoo_urls: Vec<String>,
    /// Transactions generated per account by the built-in sandbox.
    pub sandbox_transactions: u64,
    /// How long the built-in sandbox's attempts run (zero = instant, for benchmarks only).
    pub sandbox_attempt_delay: Duration,
}

impl SaltEdgeOptions {
    pub fn has_credentials(&self) -> bool {
        self.app_id.as_deref().is_some_and(|s| !s.is_empty()) && self.secret.as_deref().is_some_and(|s| !s.is_empty())
    }
}

/// Where Enable Banking is, and the application the bridge signs its requests as.
#[derive(Clone, Debug, Default)]
pub struct EnableBankingOptions {
    /// API root [default: https://api.enablebanking.com/].
    pub url: Option<String>,
    /// The application id (the JWT's `kid`).
    pub app_id: Option<String>,
    /// PEM file of the application's private key.
    pub private_key_file: Option<String>,
    /// Whose accounts a consent asks for when the bank serves both: business (default) or personal.
    pub psu_type: Option<PsuType>,
}

impl EnableBankingOptions {
    pub fn has_credentials(&self) -> bool {
        self.app_id.as_deref().is_some_and(|s| !s.trim().is_empty())
            && self.private_key_file.as_deref().is_some_and(|s| !s.trim().is_empty())
    }
}

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub bind: String,
    pub port: u16,
    pub database: DatabaseUrl,
    pub db_name: String,
    /// Largest request body accepted; larger ones get HTTP 413 without being read.
    pub max_request_bytes: usize,
    pub workers: usize,
    pub pool_size: u32,
    /// The bridge's URL as browsers and Salt Edge reach it (default: the bound address).
    pub public_url: Option<String>,
    pub saltedge: SaltEdgeOptions,
    pub enablebanking: EnableBankingOptions,
    /// Period of the `auto_sync` scheduler; zero disables it.
    pub sync_interval: Duration,
    /// Peers whose `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: TrustedProxies,
    /// Connections one address may hold; behind a trusted proxy, requests one client may have running.
    pub max_connections_per_client: u32,
}

/// Opens the database (running migrations) and builds the shared state over every model; `readers` is
/// the number of HTTP workers that may run short reads themselves (0 for commands that serve no RPC).
pub fn open(database: &DatabaseUrl, db_name: &str, pool_size: u32, readers: u32, banks: Banks) -> Result<Arc<App>> {
    let pool = db::connect(database, pool_size)?;
    let readers = if readers > 0 { db::connect_readers(database, readers)? } else { None };
    let app = App::new(pool, readers, db_name.to_string(), crate::models::registry(), banks);
    let mut conn = app.pool.get().map_err(Error::from_pool)?;
    app.sync_ir_models(&mut conn)?;
    Ok(app)
}

fn read_file(path: &str, what: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::config(format!("cannot read the {what} file {path}: {e}")))
}

/// A Salt Edge client from explicit credentials.
pub fn configured_bank(options: &SaltEdgeOptions, public_url: String) -> Result<Bank> {
    let url = options.url.clone().unwrap_or_else(|| "https://www.saltedge.com/api/v6/".to_string());
    let base = url::Url::parse(&url).map_err(|e| Error::config(format!("invalid Salt Edge URL {url:?}: {e}")))?;
    let mut config =
        ClientConfig::new(base, options.app_id.clone().unwrap_or_default(), options.secret.clone().unwrap_or_default());
    if let Some(path) = &options.private_key_file {
        config.private_key_pem = Some(read_file(path, "Salt Edge private key")?);
    }
    let client = saltedge::Client::new(config).map_err(|e| Error::config(format!("Salt Edge client: {e}")))?;
    let mut bank = Bank::new(client, public_url);
    if let Some(path) = options.callback_key_file.as_deref() {
        let key = read_file(path, "Salt Edge callback key")?;
        // Its private key is committed in this repository: trusting it would let anyone sign callbacks.
        if normalized_pem(&key) == normalized_pem(sandbox::SANDBOX_PUBLIC_KEY_PEM) {
            return Err(Error::config(format!(
                "{path} is the built-in sandbox's public key, whose private key is public: it is only trusted by the built-in sandbox. Leave --saltedge-callback-key unset to use Salt Edge's published key."
            )));
        }
        bank.callback_public_key = Some(key);
    }
    bank.include_sandboxes = options.include_sandboxes;
    Ok(bank)
}

/// An Enable Banking client for the configured application.
pub fn configured_enablebanking(options: &EnableBankingOptions, public_url: String) -> Result<EnableBanking> {
    let url = options.url.clone().unwrap_or_else(|| crate::enablebanking::DEFAULT_BASE_URL.to_string());
    let base = url::Url::parse(&url).map_err(|e| Error::config(format!("invalid Enable Banking URL {url:?}: {e}")))?;
    let path = options.private_key_file.clone().unwrap_or_default();
    let key = read_file(&path, "Enable Banking private key")?;
    // Its private key is committed in this repository: signing with it would let anyone act as the bridge.
    if normalized_pem(&key) == normalized_pem(eb_sandbox::SANDBOX_APP_PRIVATE_KEY_PEM) {
        return Err(Error::config(format!(
            "{path} is the built-in Enable Banking sandbox's application key, whose private half is public: register your own application's key."
        )));
    }
    let app_id = options.app_id.clone().unwrap_or_default().trim().to_string();
    let config = crate::enablebanking::ClientConfig::new(base, app_id, key);
    let client =
        crate::enablebanking::Client::new(config).map_err(|e| Error::config(format!("Enable Banking client: {e}")))?;
    let mut eb = EnableBanking::new(client, public_url);
    if let Some(psu_type) = options.psu_type {
        eb.psu_type = psu_type;
    }
    Ok(eb)
}

/// Checks the configured application at Enable Banking (`GET /application`): active, and registered with
/// the redirect URL the bridge sends the browser back to. The answer is logged: a wrong key or redirect
/// URL shows at start-up, not at the first user's click.
async fn check_enablebanking(eb: &EnableBanking) {
    match eb.client.application().await {
        Ok(application) => {
            let redirect = eb.redirect_url();
            if !application.active {
                tracing::error!(application = %application.name, "the Enable Banking application is not active (link your own accounts to it in the Control Panel, or sign the contract)");
            } else if !application.redirect_urls.contains(&redirect) {
                tracing::error!(application = %application.name, redirect_url = %redirect, "the Enable Banking application does not list the bridge's redirect URL: add it in the Control Panel");
            } else {
                tracing::info!(application = %application.name, environment = %application.environment, "Enable Banking application checked");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not check the Enable Banking application"),
    }
}

fn normalized_pem(pem: &str) -> String {
    pem.split_whitespace().collect()
}

fn parse_odoo_urls(urls: &[String]) -> Result<Vec<url::Url>> {
    urls.iter()
        .flat_map(|u| u.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| match url::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(parsed),
            _ => Err(Error::config(format!("invalid Odoo URL {u:?}: expected http(s)://host[:port]"))),
        })
        .collect()
}

fn sandbox_bank(handle: &sandbox::SandboxHandle, public_url: String) -> Result<Bank> {
    let client =
        saltedge::Client::new(handle.client_config()).map_err(|e| Error::config(format!("sandbox client: {e}")))?;
    let mut bank = Bank::new(client, public_url);
    bank.callback_public_key = Some(handle.public_key_pem.clone());
    bank.include_sandboxes = true;
    Ok(bank)
}

fn eb_sandbox_bank(base: url::Url, public_url: String, timeout: Duration) -> Result<EnableBanking> {
    let mut config = crate::enablebanking::ClientConfig::new(
        base,
        eb_sandbox::SANDBOX_APP_ID,
        eb_sandbox::SANDBOX_APP_PRIVATE_KEY_PEM,
    );
    config.timeout = timeout;
    // Loopback: retries need not wait long (as the Salt Edge sandbox's client).
    config.backoff_base = Duration::from_millis(50);
    let client = crate::enablebanking::Client::new(config)
        .map_err(|e| Error::config(format!("Enable Banking sandbox client: {e}")))?;
    Ok(EnableBanking::new(client, public_url))
}

pub const SANDBOX_URL_SETTING: &str = "sandbox.base_url";
pub const ENABLEBANKING_SANDBOX_URL_SETTING: &str = "sandbox.enablebanking.base_url";

/// Open connections accepted at once, over all workers (actix's `max_connections` is per worker); more
/// wait in the kernel's backlog instead of failing with "too many open files".
const MAX_CONNECTIONS: usize = 4096;
/// Default of `--max-connections-per-client`: what one address may hold, so one client cannot take every
/// slot.
pub const MAX_CONNECTIONS_PER_CLIENT: u32 = 256;
/// Time a client has to send a request's head once connected (or once its previous response went out),
/// and to close after the response. Idle connections beyond it are closed.
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Raises the soft limit of open files to the hard limit (commonly 1,024 → 524,288), so connections,
/// database files and sockets to Salt Edge share the most the system allows this process.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot read the open-file limit");
        return;
    }
    if limit.rlim_cur >= limit.rlim_max {
        return;
    }
    let before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        tracing::info!(from = before, to = limit.rlim_max, "open-file limit raised to the hard limit");
    } else {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot raise the open-file limit");
    }
}

/// Runs the server until SIGINT/SIGTERM; prints `listening on http://ADDR` once bound (port 0 allowed).
pub async fn serve(options: ServeOptions) -> Result<()> {
    raise_open_file_limit();
    let listener = TcpListener::bind((options.bind.as_str(), options.port))
        .map_err(|e| Error::config(format!("cannot listen on {}:{}: {e}", options.bind, options.port)))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| Error::config(format!("listener address: {e}")))?;
    let public_url = options.public_url.clone().unwrap_or_else(|| format!("http://{local}"));

    // A configured aggregator is used alone; with none configured, both built-in sandboxes run (offline).
    let offline = !options.saltedge.has_credentials() && !options.enablebanking.has_credentials();
    let mut sandbox_handle = None;
    let mut eb_sandbox_handle = None;
    let saltedge = if options.saltedge.has_credentials() {
        Some(configured_bank(&options.saltedge, public_url.clone())?)
    } else if offline {
        let callback_base =
            url::Url::parse(&public_url).map_err(|e| Error::config(format!("invalid public URL: {e}")))?;
        let config = SandboxConfig {
            callback_base_url: Some(callback_base),
            transactions_per_account: options.saltedge.sandbox_transactions,
            attempt_delay: options.saltedge.sandbox_attempt_delay,
            ..SandboxConfig::default()
        };
        let handle = sandbox::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| Error::config(format!("cannot start the Salt Edge sandbox: {e}")))?;
        tracing::info!(url = %handle.base_url, "no Salt Edge credentials: using the built-in sandbox (fake banks of country XF)");
        let bank = sandbox_bank(&handle, public_url.clone())?;
        sandbox_handle = Some(handle);
        Some(bank)
    } else {
        None
    };
    let enablebanking = if options.enablebanking.has_credentials() {
        let eb = configured_enablebanking(&options.enablebanking, public_url.clone())?;
        check_enablebanking(&eb).await;
        Some(eb)
    } else if offline {
        let config = EbSandboxConfig {
            redirect_urls: vec![EnableBanking::redirect_url_of(&public_url)],
            transactions_per_account: options.saltedge.sandbox_transactions,
            ..EbSandboxConfig::default()
        };
        let handle = eb_sandbox::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| Error::config(format!("cannot start the Enable Banking sandbox: {e}")))?;
        tracing::info!(url = %handle.base_url, "no Enable Banking application: using its built-in sandbox (Mock Bank, FI)");
        let eb = eb_sandbox_bank(handle.base_url.clone(), public_url.clone(), Duration::from_secs(30))?;
        eb_sandbox_handle = Some(handle);
        Some(eb)
    } else {
        None
    };
    let banks = Banks { saltedge, enablebanking, odoo_urls: parse_odoo_urls(&options.saltedge.odoo_urls)? };

    let app = {
        let options = options.clone();
        let readers = u32::try_from(options.workers.max(1)).unwrap_or(u32::MAX);
        tokio::task::spawn_blocking(move || {
            open(&options.database, &options.db_name, options.pool_size, readers, banks)
        })
        .await
        .map_err(|e| Error::internal("opening the database", e))??
    };
    if let Some(handle) = &sandbox_handle {
        let url = handle.base_url.to_string();
        app.db(move |conn, _| store::settings::set(conn, SANDBOX_URL_SETTING, &url)).await?;
    }
    if let Some(handle) = &eb_sandbox_handle {
        let url = handle.base_url.to_string();
        app.db(move |conn, _| store::settings::set(conn, ENABLEBANKING_SANDBOX_URL_SETTING, &url)).await?;
    }
    let first_key = app.db(|conn, _| crate::auth::ensure_first_user(conn)).await?;
    {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            match sync::refresh_institutions(&app).await {
                Ok(added) => tracing::info!(added, "institutions refreshed from the aggregators"),
                Err(e) => {
                    let cause = e.cause().map(ToString::to_string).unwrap_or_default();
                    tracing::warn!(error = e.message(), cause, "could not refresh institutions at start-up");
                }
            }
        });
    }
    if !options.sync_interval.is_zero() {
        sync::scheduler::spawn(Arc::clone(&app), options.sync_interval);
    }
    sync::takeover::spawn(Arc::clone(&app));

    let web_policy = web::Data::new(crate::rpc::web::WebPolicy::new(&public_url));
    let data = web::Data::new(Arc::clone(&app));
    let limit = options.max_request_bytes;
    let workers = options.workers.max(1);
    let limits = connections::ClientLimits::new(options.max_connections_per_client, options.trusted_proxies.clone());
    if !limits.trusted.is_empty() {
        let ranges = limits.trusted.ranges().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        tracing::info!(trusted_proxies = %ranges, "forwarding headers are believed from these peers only");
    }
    let limits_on_connect = Arc::clone(&limits);
    let server = HttpServer::new(move || {
        let limits = Arc::clone(&limits);
        ActixApp::new()
            .wrap_fn(move |req, srv| connections::guard(&limits, req, srv))
            .wrap(actix_web::middleware::from_fn(crate::rpc::access::log_requests))
            .app_data(data.clone())
            .app_data(web_policy.clone())
            .app_data(web::PayloadConfig::new(limit))
            .configure(crate::rpc::http::configure)
            .configure(crate::sync::web::configure)
    })
    .workers(workers)
    .max_connections(MAX_CONNECTIONS.div_ceil(workers))
    .client_request_timeout(REQUEST_HEAD_TIMEOUT)
    .client_disconnect_timeout(DISCONNECT_TIMEOUT)
    .on_connect(move |conn, data| {
        if let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            limits_on_connect.admit_connection(stream, data);
        }
    })
    .shutdown_timeout(10)
    .listen(listener)
    .map_err(|e| Error::config(format!("cannot serve on {local}: {e}")))?;
    tracing::info!(database = %options.database.redacted(), "bankbridge listening on http://{local}");
    // Tests and scripts read this line to find the port when started with --port 0.
    println!("listening on http://{local}");
    if let Some(key) = first_key {
        println!("created the first user: login admin, company \"My Company\", API key (shown once): {key}");
    }
    let outcome = server.run().await.map_err(|e| Error::config(format!("server error: {e}")));
    if let Some(handle) = sandbox_handle {
        handle.stop().await;
    }
    if let Some(handle) = eb_sandbox_handle {
        handle.stop().await;
    }
    tracing::info!("bankbridge stopped");
    outcome
}

/// The aggregators for one-shot commands (`bankbridge sync`): explicit credentials, or else the sandboxes
/// of a running `bankbridge serve` on the same database.
pub fn banks_for_cli(
    app: &App,
    saltedge_options: &SaltEdgeOptions,
    eb_options: &EnableBankingOptions,
    public_url: String,
) -> Result<Banks> {
    let mut conn = app.pool.get().map_err(Error::from_pool)?;
    let enablebanking = if eb_options.has_credentials() {
        Some(configured_enablebanking(eb_options, public_url.clone())?)
    } else {
        match store::settings::get(&mut conn, ENABLEBANKING_SANDBOX_URL_SETTING)? {
            Some(url) if !saltedge_options.has_credentials() => {
                let base = url::Url::parse(&url).map_err(|e| Error::config(format!("stored sandbox URL: {e}")))?;
                ensure_sandbox_answers(&base)?;
                Some(eb_sandbox_bank(base, public_url.clone(), Duration::from_secs(30))?)
            }
            _ => None,
        }
    };
    let saltedge = if saltedge_options.has_credentials() {
        Some(configured_bank(saltedge_options, public_url)?)
    } else if eb_options.has_credentials() {
        None
    } else {
        let url = store::settings::get(&mut conn, SANDBOX_URL_SETTING)?.ok_or_else(|| {
            Error::config("no Salt Edge credentials and no running sandbox: start `bankbridge serve` on this database first, or set BANKBRIDGE_SALTEDGE_APP_ID and BANKBRIDGE_SALTEDGE_SECRET")
        })?;
        let defaults = SandboxConfig::default();
        let base = url::Url::parse(&url).map_err(|e| Error::config(format!("stored sandbox URL: {e}")))?;
        ensure_sandbox_answers(&base)?;
        let mut config = ClientConfig::new(base, defaults.app_id, defaults.secret);
        config.timeout = Duration::from_secs(30);
        let client = saltedge::Client::new(config).map_err(|e| Error::config(format!("sandbox client: {e}")))?;
        let mut bank = Bank::new(client, public_url);
        // `bankbridge sync` receives no callbacks: it polls.
        bank.callback_public_key = None;
        bank.include_sandboxes = true;
        Some(bank)
    };
    Ok(Banks { saltedge, enablebanking, odoo_urls: Vec::new() })
}

/// The sandbox lives inside `bankbridge serve`, on a port chosen at each start; the URL stored by the
/// last start outlives the process. One short connection attempt tells "the bridge is not running"
/// apart from a Salt Edge failure, instead of the client's retries blaming Salt Edge after many seconds.
fn ensure_sandbox_answers(base: &url::Url) -> Result<()> {
    let not_running = |reason: String| {
        Error::config(format!(
            "the bridge is not running: without Salt Edge credentials, `bankbridge sync` uses the Salt Edge sandbox \
             of a running `bankbridge serve` on this database, and nothing answers at {base} ({reason}). Start \
             `bankbridge serve` first, or set BANKBRIDGE_SALTEDGE_APP_ID and BANKBRIDGE_SALTEDGE_SECRET."
        ))
    };
    let addresses = base.socket_addrs(|| None).map_err(|e| not_running(e.to_string()))?;
    let mut last_error = String::from("no address");
    for address in addresses {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(not_running(last_error))
}

#[cfg(test)]
mod tests;
