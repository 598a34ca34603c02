//! Storage: one diesel schema, SQLite and PostgreSQL behind `MultiConnection`, per-backend embedded
//! migrations with the same version names, and an r2d2 pool that picks the backend from the URL scheme
//! (so a bad PostgreSQL URL reports the real connection error instead of diesel's generic one).

pub mod backup;
pub mod schema;
pub mod step_budget;
#[cfg(test)]
pub(crate) mod test_db;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{Error, Result};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    // SQLite last: the derive tries variants in order when establishing from a URL.
    Sqlite(diesel::SqliteConnection),
}

diesel::define_sql_function! {
    /// Unicode lower-casing (SQLite's own lower() folds ASCII only), so that `ilike` folds `É` to `é` as
    /// PostgreSQL's ILIKE does.
    fn unicode_lower(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

diesel::define_sql_function! {
    /// A float as PostgreSQL's `float8::text` prints it, so that a like operator on a float column compares
    /// the same text on both backends.
    fn pg_float_text(value: diesel::sql_types::Nullable<diesel::sql_types::Double>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

fn register_sqlite_functions(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    unicode_lower_utils::register_impl(conn, |text: Option<String>| text.map(|t| t.to_lowercase()))?;
    pg_float_text_utils::register_impl(conn, |value: Option<f64>| value.map(float_text))
}

/// PostgreSQL's `float8::text`: shortest round-trip digits, with an exponent from 1e15 up and below 1e-4.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e15).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
    } else {
        format!("{f}")
    }
}

/// Which SQL dialect a connection speaks; the ORM layer writes placeholders and a few functions per dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Postgresql(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// A database location parsed from `DATABASE_URL` / `--database`.
#[derive(Clone, Debug)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Error::config("the database URL is empty"));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            return Ok(DatabaseUrl::Sqlite(path.to_string()));
        }
        if raw.contains("://") {
            return Err(Error::config(
                "unsupported database URL scheme (use a file path, sqlite://PATH or postgres://…)",
            ));
        }
        Ok(DatabaseUrl::Sqlite(raw.to_string()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A printable form without the password of a PostgreSQL URL.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparsable)".to_string(),
            },
        }
    }
}

/// r2d2 manager that establishes the right backend directly.
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// A reader on the HTTP workers (`connect_readers`): it may not write and never waits for a lock.
    reader: bool,
}

impl ManageConnection for ConnectionManager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<AnyConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let conn = diesel::PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                Ok(AnyConnection::Postgresql(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                sqlite_process_setup();
                let mut conn =
                    diesel::SqliteConnection::establish(path).map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_CONNECTION_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)?;
                if self.reader {
                    conn.batch_execute(SQLITE_READER_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)?;
                }
                register_sqlite_functions(&mut conn).map_err(diesel::r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    /// Checked at every check-out without a round trip: a SQLite connection does not break, and a
    /// PostgreSQL one is dead when the server said so while it sat idle (`postgres_idle_alive`). A
    /// connection that breaks while in use fails that use and is found here at its next check-out.
    fn is_valid(&self, conn: &mut AnyConnection) -> std::result::Result<(), Self::Error> {
        match conn {
            AnyConnection::Postgresql(pg) => postgres_idle_alive(pg).map_err(diesel::r2d2::Error::QueryError),
            AnyConnection::Sqlite(_) => Ok(()),
        }
    }

    /// A connection whose transaction could not be ended (diesel's broken transaction manager) is replaced
    /// rather than handed to the next caller.
    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Whether an idle PostgreSQL connection is still open, without asking the server: it reads, without
/// waiting, whatever the server sent since the connection's last statement. A backend that was ended
/// (`pg_terminate_backend`, a server shut down or restarted) sends its FATAL message and closes the
/// socket; reading that end of file marks the connection bad, and a closed connection fails at once.
/// Twice, because the farewell and the end of file may come in two reads. An idle connection otherwise
/// receives nothing but parameter reports (and notifications, which the bridge does not listen for), read
/// and dropped here. The cost is two non-blocking reads instead of a `SELECT 1` round trip.
fn postgres_idle_alive(conn: &mut diesel::PgConnection) -> QueryResult<()> {
    for _ in 0..2 {
        if let Some(Err(e)) = conn.notifications_iter().find(Result::is_err) {
            return Err(e);
        }
    }
    Ok(())
}

/// Process-wide SQLite set-up, before it opens its first connection. Multi-thread mode: a connection is
/// only ever used by one thread at a time (r2d2 hands it out, diesel's connection is not `Sync`), so the
/// serialized mode's mutex around every `sqlite3_column_*` and `sqlite3_step` call is pure cost (too late
/// once SQLite is initialised: it then answers SQLITE_MISUSE and stays serialized, still correct). And the
/// step budgets' progress handler on every connection opened afterwards (`step_budget`).
fn sqlite_process_setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before this process opens any SQLite connection (first thing
        // of the first SQLite open, once); SQLITE_CONFIG_MULTITHREAD takes no further argument.
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite already initialised: it stays in serialized mode");
        }
        step_budget::install();
    });
}

/// Runs `work` in a transaction that will write. On SQLite it starts with `BEGIN IMMEDIATE`, taking the
/// write lock up front (waiting up to busy_timeout): a deferred transaction that reads first and writes
/// later fails at once with "database is locked" when another writer committed in between, which busy
/// waiting cannot cure. PostgreSQL gets a plain transaction.
pub fn write_transaction<T>(conn: &mut AnyConnection, work: impl FnOnce(&mut AnyConnection) -> Result<T>) -> Result<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <AnyConnection as Connection>::TransactionManager;
    match conn {
        AnyConnection::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?,
        AnyConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // The caller gets the work's error; a rollback that fails too is logged with its reason.
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, work_error = e.message(), "rolling back a failed write transaction failed");
            }
            Err(e)
        }
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type DbConn = PooledConnection<ConnectionManager>;

/// Per-connection SQLite settings. `busy_timeout` comes first, so that everything after it, this set-up
/// included, waits for a lock instead of failing "database is locked" (a writer waits up to 30 s for
/// another company's write). WAL lets readers run beside the single writer; `case_sensitive_like` makes
/// `like` behave as in PostgreSQL (ilike lowers both sides). The journal mode is not set here: it belongs
/// to the file and is set once by `prepare_sqlite`, before the pool opens its connections in parallel
/// (each switching it at once fought over the lock: seven "ERROR r2d2: database is locked" per first start).
const SQLITE_CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON;";

/// A reader that runs on an HTTP worker must not hold it: a lock it cannot take at once (a checkpoint
/// restarting the WAL) fails the read, which then runs on the blocking pool. `query_only` makes a write
/// through it fail instead of happening on the wrong path.
const SQLITE_READER_PRAGMAS: &str = "PRAGMA busy_timeout = 0; PRAGMA query_only = ON;";

/// How long one attempt to reach the PostgreSQL server may take (libpq's `connect_timeout`), unless the
/// URL sets its own.
const POSTGRES_CONNECT_TIMEOUT_SECS: u32 = 5;

/// Builds the pool and brings the schema up to date. One connection is opened first, alone: a bad
/// setting (missing directory, server down, wrong password) fails at once with one line that says what
/// is wrong and what to do, instead of a pool retrying for 15 s and logging an error per attempt.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<DbPool> {
    let url = match url {
        DatabaseUrl::Sqlite(path) => {
            prepare_sqlite(path)?;
            url.clone()
        }
        DatabaseUrl::Postgres(raw) => {
            let with_timeout = DatabaseUrl::Postgres(postgres_url_with_timeout(raw));
            check_postgres(&with_timeout)?;
            with_timeout
        }
    };
    // SQLite has one writer: a small pool avoids piling up writers that only wait on each other.
    let size = match url.backend() {
        Backend::Sqlite => max_size.clamp(1, 8),
        Backend::Postgres => max_size.max(1),
    };
    let pool = build_pool(ConnectionManager { url: url.clone(), reader: false }, size)?;
    let mut conn = pool.get().map_err(Error::from_pool)?;
    run_migrations(&mut conn)?;
    Ok(pool)
}

/// The readers the HTTP workers run short reads on (`rpc::services`), one per worker, for a SQLite database
/// whose connections have a step budget; `None` otherwise (PostgreSQL, whose every read is a round trip,
/// keeps all of them on the blocking pool). Called after `connect`, which created the file.
pub fn connect_readers(url: &DatabaseUrl, workers: u32) -> Result<Option<DbPool>> {
    // A `:memory:` database or a `file:` URI may not be the same database when opened again.
    let DatabaseUrl::Sqlite(path) = url else { return Ok(None) };
    if !is_plain_sqlite_path(path) || !step_budget::installed() {
        return Ok(None);
    }
    build_pool(ConnectionManager { url: url.clone(), reader: true }, workers.max(1)).map(Some)
}

fn build_pool(manager: ConnectionManager, size: u32) -> Result<DbPool> {
    let url = manager.url.clone();
    Pool::builder()
        .max_size(size)
        // `is_valid` asks the server nothing: a SQLite connection does not break, and a PostgreSQL one
        // that the server ended is found by reading what it sent while idle.
        .test_on_check_out(url.backend() == Backend::Postgres)
        .connection_timeout(Duration::from_secs(15))
        .build(manager)
        .map_err(|e| Error::config(format!("cannot open database {}: {e}", url.redacted())))
}

/// Whether a SQLite "path" names a file on disk (not `:memory:` nor a `file:` URI).
fn is_plain_sqlite_path(path: &str) -> bool {
    path != ":memory:" && !path.is_empty() && !path.starts_with("file:")
}

/// Creates the SQLite file readable by its owner only (0600; SQLite gives its `-wal` and `-shm` files the
/// mode of the database file) and switches it to WAL, once, before the pool opens connections.
fn prepare_sqlite(path: &str) -> Result<()> {
    sqlite_process_setup();
    if is_plain_sqlite_path(path) {
        let file = std::path::Path::new(path);
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            return Err(Error::config(format!(
                "the directory {} of the SQLite database {path} does not exist: create it (mkdir -p {}) or \
                 point --database / DATABASE_URL to a file in an existing directory",
                dir.display(),
                dir.display()
            )));
        }
        create_private_file(file).map_err(|e| {
            Error::config(format!(
                "cannot create the SQLite database {path}: {e}; check that the directory {} is writable by this user",
                dir.display()
            ))
        })?;
    }
    let mut conn = diesel::SqliteConnection::establish(path)
        .map_err(|e| Error::config(format!("cannot open the SQLite database {path}: {}", one_line(&e.to_string()))))?;
    conn.batch_execute("PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL;").map_err(|e| {
        Error::config(format!(
            "cannot use {path} as a SQLite database: {}; is it a bankbridge database file?",
            one_line(&e.to_string())
        ))
    })
}

/// Creates `file` with mode 0600 if it does not exist yet (an existing file keeps its mode).
fn create_private_file(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A PostgreSQL URL with libpq's `connect_timeout` set, so an unreachable host fails in seconds.
fn postgres_url_with_timeout(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if !parsed.query_pairs().any(|(k, _)| k == "connect_timeout") => {
            parsed.query_pairs_mut().append_pair("connect_timeout", &POSTGRES_CONNECT_TIMEOUT_SECS.to_string());
            parsed.to_string()
        }
        _ => raw.to_string(),
    }
}

/// One connection attempt to PostgreSQL, with an error that names the server and what to check.
fn check_postgres(url: &DatabaseUrl) -> Result<()> {
    let DatabaseUrl::Postgres(raw) = url else { return Ok(()) };
    let Err(e) = diesel::PgConnection::establish(raw) else { return Ok(()) };
    let (host, port) = match url::Url::parse(raw) {
        Ok(parsed) => (parsed.host_str().unwrap_or("localhost").to_string(), parsed.port().unwrap_or(5432)),
        Err(_) => ("(unparsable URL)".to_string(), 5432),
    };
    let detail = one_line(&e.to_string());
    let hint = if detail.contains("refused") {
        format!("the PostgreSQL server at {host}:{port} refused the connection: start it, or point --database / DATABASE_URL to a running server")
    } else if detail.contains("timeout expired") {
        format!("the PostgreSQL server at {host}:{port} did not answer within {POSTGRES_CONNECT_TIMEOUT_SECS} s: check the host, the port and the firewall in --database / DATABASE_URL")
    } else {
        format!("cannot connect to the PostgreSQL server at {host}:{port}: fix --database / DATABASE_URL (user, password, database name) or the server")
    };
    Err(Error::config(format!("{hint} ({detail})")))
}

/// A multi-line driver message (libpq adds hints on further lines) on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize> {
    let migrations = match conn.backend() {
        Backend::Postgres => POSTGRES_MIGRATIONS,
        Backend::Sqlite => SQLITE_MIGRATIONS,
    };
    if conn.backend() == Backend::Postgres {
        // Two replicas starting together must not both apply migrations.
        conn.batch_execute("SELECT pg_advisory_lock(727274001)")?;
    }
    let applied = conn.run_pending_migrations(migrations).map(|v| v.len());
    if conn.backend() == Backend::Postgres {
        conn.batch_execute("SELECT pg_advisory_unlock(727274001)")?;
    }
    applied.map_err(|e| Error::config(format!("database migration failed: {e}")))
}
