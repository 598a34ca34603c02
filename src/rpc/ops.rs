//! The operator's routes: `GET /health` (liveness, no database), Odoo's `GET /web/health`, `GET
//! /health/ready` (readiness: the database answers) and `GET /metrics` (Prometheus). Behind the nginx site
//! of `deploy/`, `/metrics` is not served to the outside: it is read on each replica's own port.

use std::sync::Arc;

use actix_web::{web, HttpResponse};

use crate::app::App;
use crate::error::Error;
use crate::rpc::{fault, services};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/web/health", web::get().to(odoo_health))
        .route("/health/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics));
}

/// Liveness: the process answers (it does not touch the database, so a database outage does not get every
/// replica restarted; readiness says that).
async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({"status": "ok", "version": services::SERVER_VERSION}))
}

/// Odoo's own liveness route (`/web/health`, as Odoo 17 answers it).
async fn odoo_health() -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({"status": "pass"}))
}

/// How long readiness waits for the database before saying it is unavailable.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Readiness: the database answers a query within `READY_TIMEOUT` (a load balancer sends no traffic to a
/// replica that cannot reach it).
async fn ready(app: web::Data<Arc<App>>) -> HttpResponse {
    let check = app.db(|conn, _| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1").map_err(Error::from)
    });
    let outcome = match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::application(format!("no database answer within {} s", READY_TIMEOUT.as_secs()))),
    };
    match outcome {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "ready", "database": "ok"})),
        Err(e) => {
            fault::log(&e, "readiness");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({"status": "not ready", "database": "unavailable"}))
        }
    }
}

/// Prometheus metrics of this process, with the pools' use and the links per state read now.
async fn metrics(app: web::Data<Arc<App>>) -> HttpResponse {
    let pool_use = |name, pool: &crate::db::DbPool| {
        let state = pool.state();
        crate::metrics::PoolUse { name, max: pool.max_size(), open: state.connections, idle: state.idle_connections }
    };
    let mut pools = vec![pool_use("blocking", &app.pool)];
    pools.extend(app.readers.as_ref().map(|readers| pool_use("readers", readers)));
    let links = match app.db(|conn, _| crate::sync::store::links::count_by_state(conn)).await {
        Ok(links) => Some(links),
        Err(e) => {
            fault::log(&e, "metrics: counting links");
            None
        }
    };
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(crate::metrics::render(&pools, links.as_deref()))
}
