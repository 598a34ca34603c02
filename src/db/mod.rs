//! Storage: one diesel schema, SQLite and PostgreSQL behind `MultiConnection`, per-backend embedded
//! migrations with the same version names, and an r2d2 pool that picks the backend from the URL scheme
//! (so a bad PostgreSQL URL reports the real connection error instead of diesel's generic one).

pub mod schema;

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
                let mut conn =
                    diesel::SqliteConnection::establish(path).map_err(diesel::r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the single writer; busy_timeout makes writers queue instead of
                // failing; case_sensitive_like makes `like` behave as in PostgreSQL (ilike lowers both sides).
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> std::result::Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
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

/// Builds the pool and brings the schema up to date.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<DbPool> {
    let manager = ConnectionManager { url: url.clone() };
    // SQLite has one writer: a small pool avoids piling up writers that only wait on each other.
    let size = match url.backend() {
        Backend::Sqlite => max_size.clamp(1, 8),
        Backend::Postgres => max_size.max(1),
    };
    let pool = Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(15))
        .build(manager)
        .map_err(|e| Error::config(format!("cannot open database {}: {e}", url.redacted())))?;
    let mut conn = pool.get().map_err(Error::from_pool)?;
    run_migrations(&mut conn)?;
    Ok(pool)
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
