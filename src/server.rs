//! Starting the bridge: database, application state, HTTP server with request limits, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{web, App as ActixApp, HttpServer};

use crate::app::App;
use crate::db::{self, DatabaseUrl};
use crate::error::{Error, Result};
use crate::rpc::jsonrpc::Sessions;

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
}

/// Opens the database (running migrations) and builds the shared state.
pub fn open(database: &DatabaseUrl, db_name: &str, pool_size: u32) -> Result<Arc<App>> {
    let pool = db::connect(database, pool_size)?;
    let app = App::new(pool, db_name.to_string());
    let mut conn = app.pool.get().map_err(Error::from_pool)?;
    app.sync_ir_models(&mut conn)?;
    Ok(app)
}

/// Runs the server until SIGINT/SIGTERM; prints `listening on http://ADDR` once bound (port 0 allowed).
pub async fn serve(options: ServeOptions) -> Result<()> {
    let app = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || open(&options.database, &options.db_name, options.pool_size))
            .await
            .map_err(|e| Error::internal("opening the database", e))??
    };
    let first_key = app.db(|conn, _| crate::auth::ensure_first_user(conn)).await?;
    let sessions = web::Data::new(Sessions::default());
    let data = web::Data::new(Arc::clone(&app));
    let limit = options.max_request_bytes;
    let server = HttpServer::new(move || {
        ActixApp::new()
            .app_data(data.clone())
            .app_data(sessions.clone())
            .app_data(web::PayloadConfig::new(limit))
            .configure(crate::rpc::http::configure)
    })
    .workers(options.workers.max(1))
    .shutdown_timeout(10)
    .bind((options.bind.as_str(), options.port))
    .map_err(|e| Error::config(format!("cannot listen on {}:{}: {e}", options.bind, options.port)))?;
    let addrs: Vec<SocketAddr> = server.addrs();
    for addr in &addrs {
        tracing::info!(database = %options.database.redacted(), "bankbridge listening on http://{addr}");
        // Tests and scripts read this line to find the port when started with --port 0.
        println!("listening on http://{addr}");
    }
    if let Some(key) = first_key {
        println!("created the first user: login admin, company \"My Company\", API key (shown once): {key}");
    }
    server.run().await.map_err(|e| Error::config(format!("server error: {e}")))?;
    tracing::info!("bankbridge stopped");
    Ok(())
}
