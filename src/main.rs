//! The `bankbridge` command line.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bankbridge::auth;
use bankbridge::db::DatabaseUrl;
use bankbridge::error::Error;
use bankbridge::server::{self, ServeOptions};

#[derive(Parser)]
#[command(name = "bankbridge", version, about = "Odoo 17 bank synchronization bridge over Salt Edge")]
struct Cli {
    /// Database: a SQLite file path, sqlite://PATH or postgres://… (default bankbridge.db in the working directory).
    #[arg(long, global = true, env = "DATABASE_URL")]
    database: Option<String>,
    /// The database name XML-RPC clients pass as `db`.
    #[arg(long, global = true, env = "BANKBRIDGE_DB_NAME", default_value = "bankbridge")]
    db_name: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Odoo's external API (XML-RPC and JSON-RPC).
    Serve {
        #[arg(long, env = "BANKBRIDGE_BIND", default_value = "127.0.0.1")]
        bind: String,
        #[arg(long, env = "BANKBRIDGE_PORT", default_value_t = 8070)]
        port: u16,
        /// Largest accepted request body in bytes.
        #[arg(long, env = "BANKBRIDGE_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
        max_request_bytes: usize,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "BANKBRIDGE_WORKERS")]
        workers: Option<usize>,
        /// Database connections in the pool.
        #[arg(long, env = "BANKBRIDGE_POOL_SIZE", default_value_t = 8)]
        pool_size: u32,
    },
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage users and API keys.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints its first API key once, as the last word of the output.
    Add {
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
        login: String,
        #[arg(long, default_value = "created from the command line")]
        name: String,
    },
    /// Set a user's password, read from the first line of standard input.
    Passwd { login: String },
}

fn database_url(cli: &Cli) -> Result<DatabaseUrl, Error> {
    let raw = cli
        .database
        .clone()
        .or_else(|| std::env::var("BANKBRIDGE_DATABASE").ok())
        .unwrap_or_else(|| "bankbridge.db".to_string());
    DatabaseUrl::parse(&raw)
}

fn read_secret_line() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::config(format!("cannot read standard input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn run(cli: Cli) -> Result<(), Error> {
    let database = database_url(&cli)?;
    match cli.command {
        Command::Serve { ref bind, port, max_request_bytes, workers, pool_size } => {
            let options = ServeOptions {
                bind: bind.clone(),
                port,
                database,
                db_name: cli.db_name.clone(),
                max_request_bytes,
                workers: workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                pool_size,
            };
            actix_web::rt::System::new().block_on(server::serve(options))
        }
        Command::Migrate => {
            server::open(&database, &cli.db_name, 1)?;
            println!("database {} is up to date", database.redacted());
            Ok(())
        }
        Command::User { ref command } => {
            let app = server::open(&database, &cli.db_name, 1)?;
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
            }
            let _ = std::io::stdout().flush();
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
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
