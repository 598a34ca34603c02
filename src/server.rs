//! Starting the bridge: database, Salt Edge (or the in-process sandbox), scheduler, HTTP server with
//! request limits, graceful shutdown.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App as ActixApp, HttpServer};

use crate::app::App;
use crate::db::{self, DatabaseUrl};
use crate::error::{Error, Result};
use crate::rpc::jsonrpc::Sessions;
use crate::saltedge::{self, ClientConfig};
use crate::sandbox::{self, SandboxConfig};
use crate::sync::{self, store, Bank};

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
    /// Period of the `auto_sync` scheduler; zero disables it.
    pub sync_interval: Duration,
}

/// Opens the database (running migrations) and builds the shared state.
pub fn open(database: &DatabaseUrl, db_name: &str, pool_size: u32, bank: Option<Bank>) -> Result<Arc<App>> {
    let pool = db::connect(database, pool_size)?;
    let app = App::new(pool, db_name.to_string(), bank);
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
    bank.odoo_urls = parse_odoo_urls(&options.odoo_urls)?;
    Ok(bank)
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

fn sandbox_bank(handle: &sandbox::SandboxHandle, options: &SaltEdgeOptions, public_url: String) -> Result<Bank> {
    let client =
        saltedge::Client::new(handle.client_config()).map_err(|e| Error::config(format!("sandbox client: {e}")))?;
    let mut bank = Bank::new(client, public_url);
    bank.callback_public_key = Some(handle.public_key_pem.clone());
    bank.include_sandboxes = true;
    bank.odoo_urls = parse_odoo_urls(&options.odoo_urls)?;
    Ok(bank)
}

pub const SANDBOX_URL_SETTING: &str = "sandbox.base_url";

/// Runs the server until SIGINT/SIGTERM; prints `listening on http://ADDR` once bound (port 0 allowed).
pub async fn serve(options: ServeOptions) -> Result<()> {
    let listener = TcpListener::bind((options.bind.as_str(), options.port))
        .map_err(|e| Error::config(format!("cannot listen on {}:{}: {e}", options.bind, options.port)))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| Error::config(format!("listener address: {e}")))?;
    let public_url = options.public_url.clone().unwrap_or_else(|| format!("http://{local}"));

    let mut sandbox_handle = None;
    let bank = if options.saltedge.has_credentials() {
        configured_bank(&options.saltedge, public_url.clone())?
    } else {
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
        let bank = sandbox_bank(&handle, &options.saltedge, public_url.clone())?;
        sandbox_handle = Some(handle);
        bank
    };

    let app = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || open(&options.database, &options.db_name, options.pool_size, Some(bank)))
            .await
            .map_err(|e| Error::internal("opening the database", e))??
    };
    if let Some(handle) = &sandbox_handle {
        let url = handle.base_url.to_string();
        app.db(move |conn, _| store::set_setting(conn, SANDBOX_URL_SETTING, &url)).await?;
    }
    let first_key = app.db(|conn, _| crate::auth::ensure_first_user(conn)).await?;
    {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            match sync::refresh_institutions(&app).await {
                Ok(added) => tracing::info!(added, "institutions refreshed from Salt Edge"),
                Err(e) => tracing::warn!(error = e.message(), "could not refresh institutions"),
            }
        });
    }
    if !options.sync_interval.is_zero() {
        sync::scheduler::spawn(Arc::clone(&app), options.sync_interval);
    }

    let sessions = web::Data::new(Sessions::default());
    let data = web::Data::new(Arc::clone(&app));
    let limit = options.max_request_bytes;
    let server = HttpServer::new(move || {
        ActixApp::new()
            .app_data(data.clone())
            .app_data(sessions.clone())
            .app_data(web::PayloadConfig::new(limit))
            .configure(crate::rpc::http::configure)
            .configure(crate::sync::configure)
    })
    .workers(options.workers.max(1))
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
    tracing::info!("bankbridge stopped");
    outcome
}

/// The Salt Edge client for one-shot commands (`bankbridge sync`): explicit credentials, or else the
/// sandbox of a running `bankbridge serve` on the same database.
pub fn bank_for_cli(app: &App, options: &SaltEdgeOptions, public_url: String) -> Result<Bank> {
    if options.has_credentials() {
        return configured_bank(options, public_url);
    }
    let mut conn = app.pool.get().map_err(Error::from_pool)?;
    let url = store::get_setting(&mut conn, SANDBOX_URL_SETTING)?.ok_or_else(|| {
        Error::config("no Salt Edge credentials and no running sandbox: start `bankbridge serve` on this database first, or set BANKBRIDGE_SALTEDGE_APP_ID and BANKBRIDGE_SALTEDGE_SECRET")
    })?;
    let defaults = SandboxConfig::default();
    let base = url::Url::parse(&url).map_err(|e| Error::config(format!("stored sandbox URL: {e}")))?;
    let mut config = ClientConfig::new(base, defaults.app_id, defaults.secret);
    config.timeout = Duration::from_secs(30);
    let client = saltedge::Client::new(config).map_err(|e| Error::config(format!("sandbox client: {e}")))?;
    let mut bank = Bank::new(client, public_url);
    // `bankbridge sync` receives no callbacks: it polls.
    bank.callback_public_key = None;
    bank.include_sandboxes = true;
    Ok(bank)
}
