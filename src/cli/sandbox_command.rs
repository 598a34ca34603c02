//! `bankbridge sandbox`: the Salt Edge-compatible sandbox on its own, and with `--enablebanking-port` the
//! Enable Banking one beside it, for bridges started with credentials (several replicas share one
//! standalone sandbox; a bridge's built-in sandboxes live and die with that one process).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bankbridge::bank::EnableBanking;
use bankbridge::error::Error;
use bankbridge::sandbox::enablebanking::{self as eb_sandbox, EbSandboxConfig};
use bankbridge::sandbox::{self, SandboxConfig};

use crate::DEFAULT_ATTEMPT_DELAY_MS;

#[derive(clap::Args, Clone)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_BIND", default_value = "127.0.0.1")]
    bind: String,
    /// Port to listen on.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_PORT", default_value_t = 8071)]
    port: u16,
    /// Where to send callbacks (a bridge's base URL); also the bridge the Enable Banking sandbox's bank
    /// page sends the browser back to (`<URL>/enablebanking/return`).
    #[arg(long, env = "BANKBRIDGE_SANDBOX_CALLBACK_URL")]
    callback_url: Option<String>,
    /// Posted transactions per account.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_TRANSACTIONS", default_value_t = 300)]
    transactions: u64,
    /// Pending transactions per account.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_PENDING", default_value_t = 2)]
    pending: u32,
    /// Seconds between two allowed refreshes of a connection.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_REFRESH_INTERVAL", default_value_t = 300)]
    refresh_interval: u64,
    /// Milliseconds an attempt (connect, refresh…) runs before its data appears, as Salt
    /// Edge's attempts do; 0 = instant, for benchmarks only.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS", default_value_t = DEFAULT_ATTEMPT_DELAY_MS)]
    attempt_delay_ms: u64,
    /// PEM file of a private key to sign callbacks with (give its public half to the bridges as
    /// --saltedge-callback-key) [default: the built-in test key, which bridges refuse outside their
    /// own built-in sandbox].
    #[arg(long, env = "BANKBRIDGE_SANDBOX_SIGNING_KEY")]
    signing_key: Option<PathBuf>,
    /// Also serve the Enable Banking sandbox (Mock Bank, FI) on this port, with --callback-url's
    /// `/enablebanking/return` as the application's redirect URL.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_ENABLEBANKING_PORT", requires = "enablebanking_app_key")]
    enablebanking_port: Option<u16>,
    /// PEM file of the public key of the Enable Banking application the sandbox accepts (the bridges
    /// sign with its private half, --enablebanking-private-key).
    #[arg(long, env = "BANKBRIDGE_SANDBOX_ENABLEBANKING_APP_KEY")]
    enablebanking_app_key: Option<PathBuf>,
    /// That application's id (the bridges' --enablebanking-app-id).
    #[arg(long, env = "BANKBRIDGE_SANDBOX_ENABLEBANKING_APP_ID", default_value = eb_sandbox::SANDBOX_APP_ID)]
    enablebanking_app_id: String,
}

fn read(path: &Path, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::config(format!("cannot read the {what} {}: {e}", path.display())))
}

fn address(bind: &str, port: u16) -> Result<SocketAddr, Error> {
    format!("{bind}:{port}").parse().map_err(|e| Error::config(format!("invalid sandbox address {bind}:{port}: {e}")))
}

/// Serves until stopped.
pub fn run(args: &SandboxArgs) -> Result<(), Error> {
    let callback_base_url = args
        .callback_url
        .as_deref()
        .map(url::Url::parse)
        .transpose()
        .map_err(|e| Error::config(format!("invalid --callback-url: {e}")))?;
    let config = SandboxConfig {
        callback_base_url,
        transactions_per_account: args.transactions,
        pending_per_account: args.pending,
        refresh_interval: Duration::from_secs(args.refresh_interval),
        attempt_delay: Duration::from_millis(args.attempt_delay_ms),
        signing_key_pem: args.signing_key.as_deref().map(|path| read(path, "signing key")).transpose()?,
        ..SandboxConfig::default()
    };
    let addr = address(&args.bind, args.port)?;
    let enablebanking = match (args.enablebanking_port, &args.enablebanking_app_key) {
        (Some(port), Some(key)) => {
            let bridge = args.callback_url.as_deref().ok_or_else(|| {
                Error::config("--enablebanking-port needs --callback-url (the bridge the bank page sends back to)")
            })?;
            let config = EbSandboxConfig {
                app_id: args.enablebanking_app_id.clone(),
                app_public_key_pem: read(key, "Enable Banking application key")?,
                redirect_urls: vec![EnableBanking::redirect_url_of(bridge)],
                transactions_per_account: args.transactions,
                pending_per_account: args.pending,
                ..EbSandboxConfig::default()
            };
            Some((config, address(&args.bind, port)?))
        }
        _ => None,
    };
    println!("Salt Edge sandbox on http://{addr}/api/v6/ (app id {}, secret {})", config.app_id, config.secret);
    if let Some((eb, eb_addr)) = &enablebanking {
        println!("Enable Banking sandbox on http://{eb_addr}/ (application {})", eb.app_id);
    }
    actix_web::rt::System::new()
        .block_on(async move {
            match enablebanking {
                Some((eb, eb_addr)) => {
                    tokio::try_join!(sandbox::run(config, addr), eb_sandbox::run(eb, eb_addr)).map(|_| ())
                }
                None => sandbox::run(config, addr).await,
            }
        })
        .map_err(|e| Error::config(format!("sandbox: {e}")))
}
