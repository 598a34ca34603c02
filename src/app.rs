//! The shared state of a running bridge, and the one way to reach the database from async code
//! (diesel is synchronous, so queries run on the blocking pool, not on the event loop; the one exception
//! is a short read on a SQLite reader within a step budget, see `rpc::services::on_worker`).
//!
//! Start-up (`server.rs`) builds it from its parts (the pool, the model registry, the `Banks` that reach
//! Salt Edge and Enable Banking); the wire, the models' buttons and the sync engine use it. It imports none
//! of them.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::bank::{Bank, Banks, EnableBanking};
use crate::db::{AnyConnection, DbPool};
use crate::error::{Error, Result};
use crate::orm::Registry;

const NOT_CONFIGURED: &str = "Salt Edge is not configured on this bridge (start it with `bankbridge serve`, which runs the sandbox when no Salt Edge credentials are set).";
const ENABLEBANKING_NOT_CONFIGURED: &str = "Enable Banking is not configured on this bridge (start it with `bankbridge serve`, which runs its sandbox when no aggregator is configured, or give --enablebanking-app-id and --enablebanking-private-key).";

pub struct App {
    pub pool: DbPool,
    /// SQLite readers for the HTTP workers (`db::connect_readers`): a short read runs on the worker that
    /// received it, within a step budget, instead of crossing to the blocking pool and back.
    pub readers: Option<DbPool>,
    pub registry: Registry,
    pub auth: Authenticator,
    /// The database name clients pass as `db` (one database per bridge).
    pub db_name: String,
    /// Salt Edge (or the sandbox); `None` for commands that do not talk to it.
    bank: Option<Arc<Bank>>,
    /// Enable Banking (or its sandbox); `None` when it is not configured.
    enablebanking: Option<Arc<EnableBanking>>,
    /// Odoo base URLs a `return_to` may point into (empty: each company's first one).
    odoo_urls: Vec<url::Url>,
    /// One permit per pooled connection (see `db`).
    db_slots: Arc<tokio::sync::Semaphore>,
}

impl App {
    pub fn new(pool: DbPool, readers: Option<DbPool>, db_name: String, registry: Registry, banks: Banks) -> Arc<App> {
        Arc::new(App {
            readers,
            db_slots: Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize)),
            pool,
            registry,
            auth: Authenticator::default(),
            db_name,
            bank: banks.saltedge.map(Arc::new),
            enablebanking: banks.enablebanking.map(Arc::new),
            odoo_urls: banks.odoo_urls,
        })
    }

    /// The bank, or the user's error of a bridge that has none (a command that does not talk to Salt
    /// Edge). Shared: a follower outlives the borrow of `App`.
    pub fn bank(&self) -> Result<&Arc<Bank>> {
        self.bank.as_ref().ok_or_else(|| Error::user(NOT_CONFIGURED))
    }

    /// Enable Banking, or the user's error of a bridge that is not configured for it.
    pub fn enablebanking(&self) -> Result<&Arc<EnableBanking>> {
        self.enablebanking.as_ref().ok_or_else(|| Error::user(ENABLEBANKING_NOT_CONFIGURED))
    }

    /// Whether a Salt Edge (resp. Enable Banking) bank is configured.
    pub fn has_saltedge(&self) -> bool {
        self.bank.is_some()
    }

    pub fn has_enablebanking(&self) -> bool {
        self.enablebanking.is_some()
    }

    /// The Odoo base URLs a `return_to` may point into (empty: each company's first one).
    pub fn odoo_urls(&self) -> &[url::Url] {
        &self.odoo_urls
    }

    /// Runs `work` with a pooled connection on the blocking thread pool.
    pub async fn db<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &App) -> Result<T> + Send + 'static,
    {
        // Callers beyond the pool's size queue here, on the event loop, instead of each parking a
        // blocking thread on the pool (64 clients kept ~64 threads waiting for 8 SQLite connections).
        // The slot is released on the blocking thread as soon as the work is done, not when the event
        // loop gets round to the result.
        let waiting = std::time::Instant::now();
        let slot = Arc::clone(&self.db_slots)
            .acquire_owned()
            .await
            .map_err(|e| Error::internal("waiting for a database slot", e))?;
        crate::metrics::db_wait(waiting.elapsed().as_secs_f64());
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let mut conn = app.pool.get().map_err(Error::from_pool)?;
            work(&mut conn, &app)
        })
        .await
        .map_err(|e| Error::internal("running a database task", e))?
    }

    /// Mirrors the registry into `ir.model`, which OdooRPC queries to resolve model names.
    /// One statement per model that inserts it unless it is there: replicas starting together on an empty
    /// database do not collide (a read-then-insert made one of them exit on the unique key).
    pub fn sync_ir_models(&self, conn: &mut AnyConnection) -> Result<()> {
        use crate::orm::sql::{Sql, SqlValue};
        crate::db::write_transaction(conn, |conn| {
            for model in self.registry.models() {
                let mut sql = Sql::new(conn.backend());
                sql.push("INSERT INTO ir_models (model, name) VALUES (");
                sql.bind(SqlValue::Text(model.name.to_string()));
                sql.push(", ");
                sql.bind(SqlValue::Text(model.description.to_string()));
                sql.push(") ON CONFLICT (model) DO NOTHING");
                sql.execute(conn)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_without_a_bank_says_so_in_the_users_words() {
        let dir = std::env::temp_dir().join(format!("bankbridge-app-bank-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned());
        let banks = Banks::default();
        let app = App::new(crate::db::connect(&url, 1).unwrap(), None, "db".into(), Registry::new(vec![]), banks);
        let e = app.bank().map(|_| ()).expect_err("no bank");
        assert_eq!(e.kind(), crate::error::ErrorKind::UserError);
        assert!(e.message().contains("Salt Edge is not configured"), "{}", e.message());
        let e = app.enablebanking().map(|_| ()).expect_err("no Enable Banking");
        assert!(e.message().contains("Enable Banking is not configured"), "{}", e.message());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
