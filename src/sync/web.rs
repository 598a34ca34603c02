//! Salt Edge's way back into the bridge: signed callbacks (`/saltedge/callbacks/{success,fail,notify,
//! destroy}`) and the browser's return URL after the connect page.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::App;
use crate::error::{Error, Result};
use crate::saltedge::{self, CallbackPayload};
use crate::sync::store::{self, LinkRow, LinkUpdate};
use crate::sync::{self as engine, bank};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/saltedge/callbacks/{kind}", web::post().to(callback))
        .route("/saltedge/return", web::get().to(return_page));
}

async fn find_link(app: &Arc<App>, payload: &CallbackPayload) -> Result<Option<LinkRow>> {
    if let Some(connection) = payload.data.connection_id.clone() {
        if let Some(link) = app.db(move |conn, _| store::link_by_connection(conn, &connection)).await? {
            return Ok(Some(link));
        }
    }
    // A first connection is not known yet: our link id travels in custom_fields.
    let link_id = payload
        .data
        .custom_fields
        .get("link_id")
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
    let Some(link_id) = link_id else { return Ok(None) };
    let link = app.db(move |conn, _| store::load_link(conn, link_id, None)).await.ok();
    // The customer must match: a callback cannot move another customer's link.
    Ok(link.filter(|l| l.client_id.is_some() && l.client_id == payload.data.customer_id))
}

async fn callback(
    app: web::Data<Arc<App>>,
    kind: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let kind = kind.into_inner();
    if !matches!(kind.as_str(), "success" | "fail" | "notify" | "destroy") {
        return HttpResponse::NotFound().json(serde_json::json!({"error": "unknown callback"}));
    }
    let Ok(bank) = bank(&app) else {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({"error": "Salt Edge is not configured"}));
    };
    let signature = req.headers().get("Signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let verified = match &bank.callback_public_key {
        Some(key) if !signature.is_empty() => {
            saltedge::verify_callback(key, &bank.callback_url(&kind), &body, signature)
        }
        _ => false,
    };
    if !verified {
        tracing::warn!(callback = %kind, signed = !signature.is_empty(), "refused a callback with a missing or wrong signature");
        return HttpResponse::Unauthorized().json(serde_json::json!({"error": "invalid signature"}));
    }
    let payload: CallbackPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(_) => return HttpResponse::BadRequest().json(serde_json::json!({"error": "malformed callback body"})),
    };
    match handle_callback(&app, &kind, &payload).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Err(e) => {
            crate::rpc::fault::log(&e, &format!("saltedge callback {kind}"));
            // Salt Edge retries failed callbacks; a link we cannot find is not worth retrying.
            HttpResponse::Ok().json(serde_json::json!({"status": "ignored"}))
        }
    }
}

async fn handle_callback(app: &Arc<App>, kind: &str, payload: &CallbackPayload) -> Result<()> {
    let Some(link) = find_link(app, payload).await? else {
        tracing::info!(callback = kind, "callback for an unknown link ignored");
        return Ok(());
    };
    tracing::info!(callback = kind, link = link.id, stage = ?payload.data.stage, "Salt Edge callback");
    match kind {
        "success" => {
            let connection = payload
                .data
                .connection_id
                .clone()
                .ok_or_else(|| Error::user("success callback without connection_id"))?;
            engine::apply_connection(app, &link, &connection).await
        }
        "fail" => {
            let class = payload.data.error_class.clone().unwrap_or_default();
            let message = payload.data.error_message.clone().unwrap_or_else(|| "The connection attempt failed.".into());
            // A failed reconnect of a working link marks it; a failed first attempt keeps its record.
            engine::apply_failure(app, &link, &class, &message).await
        }
        "destroy" => {
            let id = link.id;
            app.db(move |conn, _| {
                store::update_link(
                    conn,
                    id,
                    LinkUpdate {
                        state: Some("disconnected".into()),
                        connection_identifier: Some(None),
                        error_message: Some(Some("Salt Edge removed this connection.".into())),
                        ..Default::default()
                    },
                )
            })
            .await
        }
        _ => Ok(()),
    }
}

#[derive(serde::Deserialize)]
struct ReturnQuery {
    link: Option<i64>,
    connection_id: Option<String>,
    error_class: Option<String>,
    error_message: Option<String>,
}

fn page(title: &str, message: &str, ok: bool) -> String {
    let color = if ok { "#1a7f37" } else { "#b42318" };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\
         <h1 id=\"result\" style=\"color:{color}\">{t}</h1><p id=\"message\">{m}</p>\
         <p>You can close this window and go back to Odoo.</p></body></html>",
        t = crate::html::escape(title),
        m = crate::html::escape(message)
    )
}

/// Where Salt Edge's connect page sends the browser. Nothing here is trusted: the connection is
/// re-read from Salt Edge and must belong to the link's customer.
async fn return_page(app: web::Data<Arc<App>>, query: web::Query<ReturnQuery>) -> HttpResponse {
    let query = query.into_inner();
    let html = |title: &str, message: &str, ok: bool| {
        HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page(title, message, ok))
    };
    let Some(link_id) = query.link else {
        return html("Unknown bank connection", "The return address is incomplete.", false);
    };
    let Ok(link) = app.db(move |conn, _| store::load_link(conn, link_id, None)).await else {
        return html("Unknown bank connection", "This bank connection no longer exists.", false);
    };
    let outcome = match (&query.connection_id, &query.error_class) {
        (Some(connection), _) => engine::apply_connection(&app, &link, connection).await.map(|_| true),
        (None, Some(class)) => {
            let message = query.error_message.clone().unwrap_or_default();
            engine::apply_failure(&app, &link, class, &message).await.map(|_| false)
        }
        (None, None) => Ok(false),
    };
    let refreshed = app.db(move |conn, _| store::load_link(conn, link_id, None)).await.unwrap_or(link);
    if let (Ok(true), Some(url)) = (&outcome, &refreshed.return_url) {
        return HttpResponse::Found().insert_header(("Location", url.as_str())).finish();
    }
    match outcome {
        Ok(true) if refreshed.state == "connected" => {
            html("Bank account connected", &format!("\"{}\" is connected.", refreshed.label()), true)
        }
        Ok(_) => html(
            "Bank connection not completed",
            refreshed.error_message.as_deref().unwrap_or("The bank connection was not completed."),
            false,
        ),
        Err(e) => html("Bank connection not completed", e.message(), false),
    }
}
