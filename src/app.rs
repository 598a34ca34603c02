//! The shared state of a running bridge, and the one way to reach the database from async code
//! (diesel is synchronous, so every query runs on the blocking pool, never on the event loop).
//!
//! Start-up (`server.rs`) builds it from its parts (the pool, the model registry, the Salt Edge `Bank`);
//! the wire, the models' buttons and the sync engine use it. It imports none of them.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::db::{AnyConnection, DbPool};
use crate::error::{Error, Result};
use crate::orm::Registry;
use crate::saltedge;

/// How the bridge reaches Salt Edge (or the sandbox) and how Salt Edge reaches it back.
pub struct Bank {
    pub client: saltedge::Client,
    /// Verifies callback signatures; `None` refuses every callback.
    pub callback_public_key: Option<String>,
    /// The bridge's own base URL as Salt Edge and browsers reach it (return URLs, callbacks).
    pub public_url: String,
    /// List and offer Salt Edge's fake providers (country XF).
    pub include_sandboxes: bool,
}

impl Bank {
    pub fn return_url(&self, link_id: i64) -> String {
        format!("{}/saltedge/return?link={link_id}", self.public_url.trim_end_matches('/'))
    }
    pub fn callback_url(&self, kind: &str) -> String {
        format!("{}/saltedge/callbacks/{kind}", self.public_url.trim_end_matches('/'))
    }
}

pub struct App {
    pub pool: DbPool,
    pub registry: Registry,
    pub auth: Authenticator,
    /// The database name clients pass as `db` (one database per bridge).
    pub db_name: String,
    /// Salt Edge (or the sandbox); `None` for commands that do not talk to it.
    pub bank: Option<Arc<Bank>>,
    /// One permit per pooled connection (see `db`).
    db_slots: Arc<tokio::sync::Semaphore>,
}

impl App {
    pub fn new(pool: DbPool, db_name: String, registry: Registry, bank: Option<Bank>) -> Arc<App> {
        Arc::new(App {
            db_slots: Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize)),
            pool,
            registry,
            auth: Authenticator::default(),
            db_name,
            bank: bank.map(Arc::new),
        })
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
        let slot = Arc::clone(&self.db_slots)
            .acquire_owned()
            .await
            .map_err(|e| Error::internal("waiting for a database slot", e))?;
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
    pub fn sync_ir_models(&self, conn: &mut AnyConnection) -> Result<()> {
        use crate::db::schema::ir_models;
        use diesel::prelude::*;
        conn.transaction(|conn| {
            let existing: Vec<String> = ir_models::table.select(ir_models::model).load(conn)?;
            for model in self.registry.models() {
                if !existing.iter().any(|m| m == model.name) {
                    diesel::insert_into(ir_models::table)
                        .values((ir_models::model.eq(model.name), ir_models::name.eq(model.description)))
                        .execute(conn)?;
                }
            }
            Ok(())
        })
    }
}
