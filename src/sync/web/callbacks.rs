//! Salt Edge's signed callbacks (`POST /saltedge/callbacks/{kind}`): verified (signature over
//! `callback_url|body`, and a fresh `meta.time`), then acted on. Every kind is answered 200 once
//! verified, unknown ones too (logged), so Salt Edge does not retry them forever.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use crate::app::App;
use crate::error::Result;
use crate::saltedge::{self, CallbackPayload};
use crate::sync::failures::{bank_error, fail_attempt};
use crate::sync::follow::attach_and_follow;
use crate::sync::link_events::{progress, record};
use crate::sync::ownership::verify_owner;
use crate::sync::store::{self, links::Change, LinkRow, LinkUpdate};
use crate::types::{LinkEvent, Origin};

/// How old (or how far ahead) a callback's `meta.time` may be: Salt Edge sends at once, and a
/// replayed old callback must not move a link.
pub const CALLBACK_MAX_AGE_SECS: i64 = 5 * 60;

fn refused(status: actix_web::http::StatusCode, error: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": error }))
}

pub async fn callback(
    app: web::Data<Arc<App>>,
    kind: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let kind = kind.into_inner();
    if kind.is_empty() || kind.len() > 40 || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return refused(StatusCode::NOT_FOUND, "unknown callback");
    }
    let Ok(bank) = app.bank() else {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "Salt Edge is not configured");
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
        return refused(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let payload: CallbackPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(_) => return refused(StatusCode::BAD_REQUEST, "malformed callback body"),
    };
    let fresh =
        payload.meta.time_utc().is_some_and(|at| (Utc::now() - at).num_seconds().abs() <= CALLBACK_MAX_AGE_SECS);
    if !fresh {
        tracing::warn!(callback = %kind, time = ?payload.meta.time, "refused a callback whose meta.time is missing, stale or in the future");
        return refused(StatusCode::BAD_REQUEST, "stale callback");
    }
    match handle(&app, &kind, &payload).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Err(e) => {
            crate::error::log(&e, &format!("saltedge callback {kind}"));
            // Salt Edge retries a callback that failed; the link records its own state.
            HttpResponse::Ok().json(serde_json::json!({"status": "ignored"}))
        }
    }
}

/// The link a callback is about, if its customer is the one the link's company owns.
async fn find_link(app: &Arc<App>, payload: &CallbackPayload) -> Result<Option<LinkRow>> {
    let customer = payload.data.customer_id.clone();
    if let Some(connection) = payload.data.connection_id.clone() {
        if let Some(link) = app.db(move |conn, _| store::links::by_connection(conn, &connection)).await? {
            return Ok((link.client_id.is_some() && link.client_id == customer).then_some(link));
        }
    }
    // A first connection is not known yet: our link id travels in custom_fields.
    let link_id = payload
        .data
        .custom_fields
        .get("link_id")
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
    let Some(link_id) = link_id else { return Ok(None) };
    let Some(customer) = customer else { return Ok(None) };
    let found = app
        .db(move |conn, _| {
            let Some(link) = store::links::load_if_exists(conn, link_id)? else { return Ok(None) };
            let owner = store::customers::of_company(conn, link.company_id)?;
            Ok((owner.as_deref() == Some(customer.as_str()) && link.client_id.as_deref() == Some(customer.as_str()))
                .then_some(link))
        })
        .await?;
    Ok(found)
}

/// Follows the callback's attempt: wakes this process's follower, or (after checking the connection is
/// the company's) attaches the connection and starts one.
async fn follow(app: &Arc<App>, link: &LinkRow, payload: &CallbackPayload) -> Result<()> {
    let shared = Arc::clone(app.bank()?);
    let Some(connection_id) = payload.data.connection_id.clone() else { return Ok(()) };
    if shared.wake_follower(link.id) {
        return Ok(());
    }
    attach_and_follow(app, link, &connection_id, Origin::Background).await
}

async fn handle(app: &Arc<App>, kind: &str, payload: &CallbackPayload) -> Result<()> {
    if kind == "provider_changes" || kind == "provider" || payload.data.provider_code.is_some() {
        tracing::info!(callback = kind, provider = ?payload.data.provider_code, status = ?payload.data.provider_status, "provider changed at Salt Edge");
        let app = Arc::clone(app);
        tokio::spawn(async move {
            if let Err(e) = crate::sync::actions::refresh_institutions(&app).await {
                let cause = e.cause().map(ToString::to_string).unwrap_or_default();
                tracing::warn!(error = e.message(), cause, "could not refresh institutions after a provider callback");
            }
        });
        return Ok(());
    }
    if !matches!(kind, "success" | "fail" | "notify" | "interactive" | "destroy") {
        tracing::info!(callback = kind, "callback of an unknown kind acknowledged and ignored");
        return Ok(());
    }
    let Some(link) = find_link(app, payload).await? else {
        tracing::info!(callback = kind, "callback for no link of its customer ignored");
        return Ok(());
    };
    tracing::info!(callback = kind, link = link.id, stage = ?payload.data.stage, "Salt Edge callback");
    let shared = Arc::clone(app.bank()?);
    match kind {
        "success" => follow(app, &link, payload).await,
        "fail" => {
            if shared.wake_follower(link.id) {
                return Ok(());
            }
            let mut class = payload.data.error_class.clone().unwrap_or_default();
            let mut message = payload.data.error_message.clone().unwrap_or_else(|| "The attempt failed.".into());
            if let Some(connection_id) = &payload.data.connection_id {
                // Re-read Salt Edge's own record of the failure.
                let connection = shared.client.get_connection(connection_id).await.map_err(|e| bank_error(&e))?;
                verify_owner(app, &link, &connection).await?;
                if let Some(attempt) = connection.last_attempt.as_ref().filter(|a| a.failed()) {
                    class = attempt.fail_error_class.clone().unwrap_or(class);
                    message = attempt.fail_message.clone().unwrap_or(message);
                }
            }
            // Recorded when the transition function allows it: a link the user disconnected stays so.
            fail_attempt(app, &link, &class, &message).await;
            Ok(())
        }
        "notify" | "interactive" => {
            // A first connection shows up here before its attempt ends (the browser may never come
            // back): attach it now, so the link shows the synchronization running.
            if link.connection_identifier.is_none() && payload.data.connection_id.is_some() {
                follow(app, &link, payload).await?;
            }
            shared.wake_follower(link.id);
            let stage = payload.data.stage.clone().unwrap_or_default();
            let text = if kind == "interactive" {
                "The bank asks for more input (for example a one-time code): finish it on Salt Edge's page.".to_string()
            } else {
                format!("The bank is sending its data (stage: {stage}).")
            };
            progress(app, link.id, text).await
        }
        "destroy" => {
            let change = Change::new(LinkEvent::Removed)
                .message("Salt Edge removed this connection.")
                .columns(LinkUpdate { connection_identifier: Some(None), ..Default::default() });
            record(app, link.id, change).await.map(|_| ())
        }
        _ => Ok(()),
    }
}
