//! The `bankbridge` command line.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use bankbridge::app::App;
use bankbridge::auth;
use bankbridge::bank::Banks;
use bankbridge::db::DatabaseUrl;
use bankbridge::error::Error;
use bankbridge::sandbox;

/// Default of `--sandbox-attempt-delay-ms` / `--attempt-delay-ms`.
const DEFAULT_ATTEMPT_DELAY_MS: u64 = sandbox::DEFAULT_ATTEMPT_DELAY.as_millis() as u64;
use bankbridge::server::{self, EnableBankingOptions, SaltEdgeOptions, ServeOptions};
use bankbridge::sync;
use bankbridge::types::client_address::TrustedProxies;

#[path = "cli/sandbox_command.rs"]
mod sandbox_command;
#[path = "cli/sync_progress.rs"]
mod sync_progress;
use sync_progress::{format_rate, group_thousands, SyncProgress};

/// Environment variables that have no flag, shown under every command's help.
const ENVIRONMENT_HELP: &str = "\
Environment:
  RUST_LOG               log filter (tracing), e.g. `debug` or `bankbridge=debug,info`
                         [default: info,actix_server=warn]; logs never contain request bodies,
                         passwords or keys
  BANKBRIDGE_DATABASE    the database when neither --database nor DATABASE_URL is set
  BANKBRIDGE_LOG_FORMAT  `text` or `json` (the --log-format flag)";

#[derive(Parser)]
#[command(
    name = "bankbridge",
    version,
    about = "Odoo bank synchronization bridge over Salt Edge and Enable Banking",
    after_help = ENVIRONMENT_HELP
)]
struct Cli {
    /// Log lines on standard error: `text` for people, `json` (one object per line) for log shippers.
    #[arg(long, global = true, env = "BANKBRIDGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Database of the command that follows, given before it (`bankbridge --database PATH migrate`); the
    /// command's own --database wins.
    #[arg(long, value_name = "DATABASE")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Where the data lives; only the commands that open the database take it.
#[derive(clap::Args, Clone)]
struct DatabaseArgs {
    /// Database: a SQLite file path, sqlite://PATH or postgres://user:pass@host/db; else DATABASE_URL, else
    /// BANKBRIDGE_DATABASE [default: bankbridge.db in the working directory].
    #[arg(long, global = true)]
    database: Option<String>,
}

impl DatabaseArgs {
    /// This command's --database, else the one given before the command, else the environment. (The
    /// environment is read here, not by clap, so that a flag before the command beats DATABASE_URL.)
    fn url(&self, before_command: Option<&str>) -> Result<DatabaseUrl, Error> {
        let raw = self
            .database
            .clone()
            .or_else(|| before_command.map(str::to_string))
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()))
            .or_else(|| std::env::var("BANKBRIDGE_DATABASE").ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "bankbridge.db".to_string());
        DatabaseUrl::parse(&raw)
    }
}

/// Salt Edge account settings; without an app id and secret the bridge uses its built-in sandbox.
#[derive(clap::Args, Clone)]
struct SaltEdgeArgs {
    /// Salt Edge API root [default: https://www.saltedge.com/api/v6/].
    #[arg(long, env = "BANKBRIDGE_SALTEDGE_URL")]
    saltedge_url: Option<String>,
    /// Salt Edge App-id (with --saltedge-secret; without both, the built-in sandbox is used).
    #[arg(long, env = "BANKBRIDGE_SALTEDGE_APP_ID")]
    saltedge_app_id: Option<String>,
    /// Salt Edge Secret (prefer the environment variable: flags show in the process list).
    #[arg(long, env = "BANKBRIDGE_SALTEDGE_SECRET", hide_env_values = true)]
    saltedge_secret: Option<String>,
    /// PEM file of the private key that signs requests to Salt Edge.
    #[arg(long, env = "BANKBRIDGE_SALTEDGE_PRIVATE_KEY")]
    saltedge_private_key: Option<String>,
}

/// Enable Banking application settings; with neither these nor Salt Edge credentials the bridge uses its
/// built-in Enable Banking sandbox.
#[derive(clap::Args, Clone)]
struct EnableBankingArgs {
    /// Enable Banking API root [default: https://api.enablebanking.com/].
    #[arg(long, env = "BANKBRIDGE_ENABLEBANKING_URL")]
    enablebanking_url: Option<String>,
    /// Enable Banking application id (with --enablebanking-private-key).
    #[arg(long, env = "BANKBRIDGE_ENABLEBANKING_APP_ID")]
    enablebanking_app_id: Option<String>,
    /// PEM file of the Enable Banking application's private key (the key of the certificate it registered).
    #[arg(long, env = "BANKBRIDGE_ENABLEBANKING_PRIVATE_KEY")]
    enablebanking_private_key: Option<String>,
    /// Whose accounts a consent asks for when the bank serves both kinds of user.
    #[arg(long, env = "BANKBRIDGE_ENABLEBANKING_PSU_TYPE", value_enum, default_value_t = PsuTypeArg::Business)]
    enablebanking_psu_type: PsuTypeArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PsuTypeArg {
    /// Business accounts (a company's).
    Business,
    /// Personal accounts.
    Personal,
}

impl EnableBankingArgs {
    fn options(&self) -> EnableBankingOptions {
        EnableBankingOptions {
            url: self.enablebanking_url.clone(),
            app_id: self.enablebanking_app_id.clone(),
            private_key_file: self.enablebanking_private_key.clone(),
            psu_type: Some(match self.enablebanking_psu_type {
                PsuTypeArg::Business => bankbridge::enablebanking::PsuType::Business,
                PsuTypeArg::Personal => bankbridge::enablebanking::PsuType::Personal,
            }),
        }
    }
}

/// What only the server uses: callbacks, return URLs and the built-in sandbox.
#[derive(clap::Args, Clone)]
struct ServeSaltEdgeArgs {
    #[command(flatten)]
    account: SaltEdgeArgs,
    /// PEM file of Salt Edge's public key, to verify callbacks (default: the key Salt Edge publishes).
    #[arg(long, env = "BANKBRIDGE_SALTEDGE_CALLBACK_KEY")]
    saltedge_callback_key: Option<String>,
    /// Also list and link Salt Edge's fake providers (country XF): for a Test-status Salt Edge client.
    #[arg(long, env = "BANKBRIDGE_SALTEDGE_INCLUDE_SANDBOXES")]
    saltedge_include_sandboxes: bool,
    /// Odoo base URLs (comma-separated) the browser may be sent back to after Salt Edge's page
    /// (default: each company's first `return_to`).
    #[arg(long, env = "BANKBRIDGE_ODOO_URLS", value_delimiter = ',')]
    odoo_urls: Vec<String>,
    /// Posted transactions per account generated by the built-in sandbox.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_TRANSACTIONS", default_value_t = 300)]
    sandbox_transactions: u64,
    /// Milliseconds a built-in sandbox attempt (connect, refresh…) runs before its data appears,
    /// as Salt Edge's attempts do; 0 = instant, for benchmarks only.
    #[arg(long, env = "BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS", default_value_t = DEFAULT_ATTEMPT_DELAY_MS)]
    sandbox_attempt_delay_ms: u64,
}

impl SaltEdgeArgs {
    fn options(&self) -> SaltEdgeOptions {
        SaltEdgeOptions {
            url: self.saltedge_url.clone(),
            app_id: self.saltedge_app_id.clone(),
            secret: self.saltedge_secret.clone(),
            private_key_file: self.saltedge_private_key.clone(),
            ..SaltEdgeOptions::default()
        }
    }
}

impl ServeSaltEdgeArgs {
    fn options(&self) -> SaltEdgeOptions {
        SaltEdgeOptions {
            callback_key_file: self.saltedge_callback_key.clone(),
            include_sandboxes: self.saltedge_include_sandboxes,
            odoo_urls: self.odoo_urls.clone(),
            sandbox_transactions: self.sandbox_transactions,
            sandbox_attempt_delay: std::time::Duration::from_millis(self.sandbox_attempt_delay_ms),
            ..self.account.options()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve Odoo's external API (XML-RPC and JSON-RPC).
    #[command(after_help = ENVIRONMENT_HELP)]
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The database name clients pass as `db` (one per bridge; `db.list()` returns it).
        #[arg(long, env = "BANKBRIDGE_DB_NAME", default_value = "bankbridge")]
        db_name: String,
        /// Address to listen on (`0.0.0.0` for every interface).
        #[arg(long, env = "BANKBRIDGE_BIND", default_value = "127.0.0.1")]
        bind: String,
        /// Port to listen on; `0` picks a free port and prints it (`listening on http://ADDR`).
        #[arg(long, env = "BANKBRIDGE_PORT", default_value_t = 8070)]
        port: u16,
        /// Largest accepted request body in bytes (larger ones get HTTP 413).
        #[arg(long, env = "BANKBRIDGE_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
        max_request_bytes: usize,
        /// HTTP worker threads [default: one per core].
        #[arg(long, env = "BANKBRIDGE_WORKERS")]
        workers: Option<usize>,
        /// Database connections in the pool (SQLite: at most 8).
        #[arg(long, env = "BANKBRIDGE_POOL_SIZE", default_value_t = 8)]
        pool_size: u32,
        /// The bridge's URL as browsers and the aggregators reach it [default: http://BIND:PORT].
        #[arg(long, env = "BANKBRIDGE_PUBLIC_URL")]
        public_url: Option<String>,
        /// Seconds between scheduled fetches of auto_sync links (0 disables the scheduler).
        #[arg(long, env = "BANKBRIDGE_SYNC_INTERVAL", default_value_t = 3600)]
        sync_interval: u64,
        /// Reverse proxies (comma-separated addresses or CIDR ranges, e.g. `127.0.0.1,10.0.0.0/8`) whose
        /// Forwarded / X-Forwarded-For / X-Forwarded-Proto headers name the client; from any other peer
        /// those headers are ignored [default: none].
        #[arg(long, env = "BANKBRIDGE_TRUSTED_PROXIES", value_parser = parse_trusted_proxies, default_value = "")]
        trusted_proxies: TrustedProxies,
        /// Connections one client address may hold at once (behind a trusted proxy: requests one client
        /// may have running); more get HTTP 503.
        #[arg(long, env = "BANKBRIDGE_MAX_CONNECTIONS_PER_CLIENT", default_value_t = server::MAX_CONNECTIONS_PER_CLIENT)]
        max_connections_per_client: u32,
        #[command(flatten)]
        saltedge: ServeSaltEdgeArgs,
        #[command(flatten)]
        enablebanking: EnableBankingArgs,
    },
    /// Serve only the Salt Edge-compatible sandbox (fake banks of country XF), and with
    /// --enablebanking-port the Enable Banking one (Mock Bank, FI); uses no database.
    Sandbox(sandbox_command::SandboxArgs),
    /// Fetch transactions now, once, with a progress bar; needs a running `bankbridge serve` on the same
    /// database unless the aggregators' credentials are given.
    #[command(
        long_about = "Fetch transactions now, once, with a progress bar (plain lines without a terminal) and a \
                      summary line; exits non-zero when a link failed, after printing its reason.\n\n\
                      Without Salt Edge or Enable Banking credentials it uses the built-in sandboxes of the \
                      running `bankbridge serve` on the same database: start `serve` first.",
        after_help = ENVIRONMENT_HELP
    )]
    Sync {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Only this link (default: every link holding a connection, but those whose consent was revoked).
        #[arg(long, env = "BANKBRIDGE_SYNC_LINK")]
        link: Option<i64>,
        /// Without a terminal (cron, logs): seconds between two progress lines.
        #[arg(long, env = "BANKBRIDGE_PROGRESS_INTERVAL", default_value_t = 10)]
        progress_interval: u64,
        #[command(flatten)]
        saltedge: SaltEdgeArgs,
        #[command(flatten)]
        enablebanking: EnableBankingArgs,
    },
    /// Create or update the database schema, then exit.
    #[command(after_help = ENVIRONMENT_HELP)]
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Write a consistent copy of the SQLite database to a new file, while the bridge runs (PostgreSQL:
    /// use pg_dump, as the error says).
    #[command(
        long_about = "Write a consistent copy of the SQLite database to PATH (a new file, mode 0600), while \
                      `bankbridge serve` keeps running: every table as of one instant, checked once written. \
                      Restore by stopping the bridge and putting the copy in place of the database file.\n\n\
                      For PostgreSQL, use pg_dump (the command prints the exact call).",
        after_help = ENVIRONMENT_HELP
    )]
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The new file to write (never overwritten).
        path: std::path::PathBuf,
    },
    /// Manage users and API keys.
    #[command(after_help = ENVIRONMENT_HELP)]
    User {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints its first API key once, as the last word of the output.
    Add {
        /// The new user's login (what clients pass to `authenticate`).
        login: String,
        /// The user's company (created if missing).
        #[arg(long, env = "BANKBRIDGE_COMPANY", default_value = "My Company")]
        company: String,
        /// Also set a password, read from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create another API key for a user; prints it once, as the last word of the output.
    Key {
        /// The user's login.
        login: String,
        /// A label for the key, to tell keys apart.
        #[arg(long, default_value = "created from the command line")]
        name: String,
    },
    /// Set a user's password, read from the first line of standard input.
    Passwd {
        /// The user's login.
        login: String,
    },
    /// Delete every API key of a user (effective on the next call of a running bridge).
    Revoke {
        /// The user's login.
        login: String,
    },
    /// Disable a user (effective on the next call of a running bridge).
    Disable {
        /// The user's login.
        login: String,
    },
}

fn parse_trusted_proxies(list: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(list)
}

fn read_secret_line() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::config(format!("cannot read standard input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn run(command: Command, database_before_command: Option<&str>) -> Result<(), Error> {
    let before = database_before_command;
    match command {
        Command::Serve {
            ref database,
            ref db_name,
            ref bind,
            port,
            max_request_bytes,
            workers,
            pool_size,
            ref public_url,
            sync_interval,
            ref trusted_proxies,
            max_connections_per_client,
            ref saltedge,
            ref enablebanking,
        } => {
            let options = ServeOptions {
                bind: bind.clone(),
                port,
                database: database.url(before)?,
                db_name: db_name.clone(),
                max_request_bytes,
                workers: workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                pool_size,
                public_url: public_url.clone(),
                saltedge: saltedge.options(),
                enablebanking: enablebanking.options(),
                sync_interval: Duration::from_secs(sync_interval),
                trusted_proxies: trusted_proxies.clone(),
                max_connections_per_client: max_connections_per_client.max(1),
            };
            actix_web::rt::System::new().block_on(server::serve(options))
        }
        Command::Sandbox(ref args) => {
            if before.is_some() {
                return Err(Error::config("`bankbridge sandbox` uses no database: drop --database"));
            }
            sandbox_command::run(args)
        }
        Command::Sync { ref database, link, progress_interval, ref saltedge, ref enablebanking } => {
            // The `db` name only matters to RPC clients, which this command has none of.
            let db_name = "bankbridge";
            let base = server::open(&database.url(before)?, db_name, 2, 0, Banks::default())?;
            let banks = server::banks_for_cli(
                &base,
                &saltedge.options(),
                &enablebanking.options(),
                "http://127.0.0.1".to_string(),
            )?;
            let app = App::new(base.pool.clone(), None, db_name.to_string(), bankbridge::models::registry(), banks);
            actix_web::rt::System::new().block_on(run_sync(app, link, Duration::from_secs(progress_interval)))
        }
        Command::Migrate { ref database } => {
            let database = database.url(before)?;
            server::open(&database, "bankbridge", 1, 0, Banks::default())?;
            println!("database {} is up to date", database.redacted());
            Ok(())
        }
        Command::Backup { ref database, ref path } => {
            let database = database.url(before)?;
            let summary = bankbridge::db::backup::backup(&database, path)?;
            println!(
                "backup of {} written to {} ({} bytes: {} users, {} links, {} transactions; integrity checked)",
                database.redacted(),
                path.display(),
                summary.bytes,
                summary.users,
                summary.links,
                summary.transactions
            );
            Ok(())
        }
        Command::User { ref database, ref command } => {
            let app = server::open(&database.url(before)?, "bankbridge", 1, 0, Banks::default())?;
            let mut conn = app.pool.get().map_err(Error::from_pool)?;
            match command {
                UserCommand::Add { login, company, password_stdin } => {
                    let password = if *password_stdin { Some(read_secret_line()?) } else { None };
                    if let Some(p) = &password {
                        if p.len() < 8 {
                            return Err(Error::user("The password must have at least 8 characters."));
                        }
                    }
                    let (uid, key) = auth::add_user(&mut conn, login, company, password.as_deref())?;
                    println!("created user {login} (uid {uid}) in company {company:?}; its API key (shown once):");
                    println!("{key}");
                }
                UserCommand::Key { login, name } => {
                    let uid = auth::user_id(&mut conn, login)?;
                    let key = auth::add_api_key(&mut conn, uid, name)?;
                    println!("new API key for {login} (shown once):");
                    println!("{key}");
                }
                UserCommand::Passwd { login } => {
                    let password = read_secret_line()?;
                    auth::set_password(&mut conn, login, &password)?;
                    println!("password of {login} updated");
                }
                UserCommand::Revoke { login } => {
                    let count = auth::revoke_keys(&mut conn, login)?;
                    println!("deleted {count} API key(s) of {login}");
                }
                UserCommand::Disable { login } => {
                    auth::disable_user(&mut conn, login)?;
                    println!("user {login} disabled");
                }
            }
            let _ = std::io::stdout().flush();
            Ok(())
        }
    }
}

async fn run_sync(app: std::sync::Arc<App>, link: Option<i64>, every: Duration) -> Result<(), Error> {
    let links = match link {
        Some(id) => vec![id],
        None => app.db(|conn, _| sync::store::links::ids_to_sync(conn)).await?,
    };
    let progress = SyncProgress::new(std::io::stderr().is_terminal(), every);
    let started = Instant::now();
    let (mut added, mut pending, mut failed) = (0usize, 0usize, 0usize);
    for id in &links {
        progress.start_link(*id);
        match sync::fetch_and_wait(&app, None, *id, sync::FetchBy::Operator, &progress).await {
            Ok(summary) => {
                added += summary.posted_added;
                pending += summary.pending;
                progress.show(true);
            }
            Err(e) => {
                failed += 1;
                progress.say(&format!("link {id} failed: {e}"));
            }
        }
    }
    progress.finish();
    let elapsed = started.elapsed();
    println!(
        "synced {} link(s): {} new transactions, {pending} pending, {failed} failed, in {:.1} s ({})",
        links.len() - failed,
        group_thousands(added as u64),
        elapsed.as_secs_f64(),
        format_rate(progress.total_rows(), elapsed)
    );
    if failed > 0 {
        return Err(Error::user(format!("{failed} of {} link(s) could not be synced (reasons above)", links.len())));
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,actix_server=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command, cli.database.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bankbridge: {e}");
            if let Some(cause) = e.cause() {
                eprintln!("  cause: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
