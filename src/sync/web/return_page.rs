//! Where the aggregators' pages send the browser back: Salt Edge's connect page
//! (`GET /saltedge/return?state=…`) and the bank's page of an Enable Banking authorization
//! (`GET /enablebanking/return?state=…&code=…`, or `…&error=…`). Only the one-time `state` is trusted:
//! without a valid one the page reveals nothing and changes nothing. Salt Edge's connection, its outcome
//! and any error are re-read from Salt Edge; of Enable Banking's redirect only the `code` is used, to open
//! the session at Enable Banking; a connection or session that is not the company's is never attached. When the attempt is done or still running, the browser goes back to the
//! Odoo URL the addon gave (`return_to`); without one, a result page says where things stand.

use std::sync::Arc;

use actix_web::{web, HttpResponse};

use crate::app::App;
use crate::error::{Error, Result};
use crate::sync::aggregator::enablebanking::{finish_return, Returned};
use crate::sync::follow::attach_and_follow;
use crate::sync::return_url::use_return_state;
use crate::sync::store::{self, AttemptKind, LinkRow, ReturnState};
use crate::types::{LinkState, Origin};

#[derive(serde::Deserialize)]
pub struct ReturnQuery {
    state: Option<String>,
    /// Salt Edge appends it (`return_connection_id`); only a hint, checked against Salt Edge.
    connection_id: Option<String>,
}

struct Page<'a> {
    company: Option<&'a str>,
    title: &'a str,
    message: &'a str,
    accounts: &'a [String],
    ok: bool,
}

fn render(page: Page<'_>) -> HttpResponse {
    use crate::html::escape as esc;
    let color = if page.ok { "#1a7f37" } else { "#b42318" };
    let company = page.company.map(|c| format!("<p id=\"company\">{}</p>", esc(c))).unwrap_or_default();
    let accounts = if page.accounts.is_empty() {
        String::new()
    } else {
        let items: String = page.accounts.iter().map(|a| format!("<li>{}</li>", esc(a))).collect();
        format!("<h2>Connected accounts</h2><ul id=\"accounts\">{items}</ul>")
    };
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">{company}\
         <h1 id=\"result\" style=\"color:{color}\">{t}</h1><p id=\"message\">{m}</p>{accounts}\
         <p>You can close this window and go back to Odoo.</p></body></html>",
        t = esc(page.title),
        m = esc(page.message),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(html)
}

fn invalid() -> HttpResponse {
    render(Page {
        company: None,
        title: "This link is no longer valid",
        message: "This return address is unknown, has expired or was already used. Go back to Odoo: the bank connection there shows where things stand.",
        accounts: &[],
        ok: false,
    })
}

/// The return state of a URL, used once; `None` (nothing to say) when it is missing, unknown, expired or
/// used.
async fn claim(app: &Arc<App>, state: Option<&str>, what: &str) -> Option<ReturnState> {
    match use_return_state(app, state?).await {
        Ok(claim) => claim,
        Err(e) => {
            crate::error::log(&e, what);
            None
        }
    }
}

/// Back to the Odoo URL the attempt was given, or the result page.
async fn answer(app: &Arc<App>, claim: &ReturnState, outcome: Result<()>, what: &str) -> HttpResponse {
    if let Err(e) = &outcome {
        crate::error::log(e, what);
    }
    if let Some(url) = &claim.return_to {
        return HttpResponse::Found().insert_header(("Location", url.as_str())).finish();
    }
    result_page(app, claim, outcome.err()).await
}

pub async fn return_page(app: web::Data<Arc<App>>, query: web::Query<ReturnQuery>) -> HttpResponse {
    let query = query.into_inner();
    let Some(claim) = claim(&app, query.state.as_deref(), "saltedge return").await else { return invalid() };
    let outcome = apply_return(&app, &claim, query.connection_id.as_deref()).await;
    answer(&app, &claim, outcome, "saltedge return").await
}

#[derive(serde::Deserialize)]
pub struct EnableBankingReturnQuery {
    state: Option<String>,
    code: Option<String>,
    /// Present when the authorization did not complete; its text is not shown (it is the URL's).
    error: Option<String>,
}

pub async fn enablebanking_return(
    app: web::Data<Arc<App>>,
    query: web::Query<EnableBankingReturnQuery>,
) -> HttpResponse {
    let query = query.into_inner();
    let Some(claim) = claim(&app, query.state.as_deref(), "enablebanking return").await else { return invalid() };
    let returned = match (&query.error, query.code.as_deref().map(str::trim).filter(|c| !c.is_empty())) {
        (None, Some(code)) if code.len() <= 2048 => Returned::Code(code),
        _ => Returned::NotCompleted,
    };
    let outcome = finish_return(&app, &claim, returned).await;
    answer(&app, &claim, outcome, "enablebanking return").await
}

/// Attaches the attempt's connection (when it is the company's) and follows the attempt.
async fn apply_return(app: &Arc<App>, claim: &ReturnState, hint: Option<&str>) -> Result<()> {
    let (link_id, company) = (claim.link_id, claim.company_id);
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    // Reconnect and refresh act on the link's own connection; only a first connection comes from the hint.
    let connection_id = match (claim.kind, &link.connection_identifier) {
        (AttemptKind::Reconnect | AttemptKind::Refresh, Some(own)) => Some(own.clone()),
        _ => hint.map(str::to_string),
    };
    let Some(connection_id) = connection_id else {
        // No connection: abandoned, refused before one existed, or a verified fail callback already
        // recorded why on the link. Nothing to attach.
        return Ok(());
    };
    attach_and_follow(app, &link, &connection_id, Origin::User).await
}

async fn result_page(app: &Arc<App>, claim: &ReturnState, error: Option<Error>) -> HttpResponse {
    let (link_id, company) = (claim.link_id, claim.company_id);
    let loaded = app
        .db(move |conn, _| {
            let name = store::companies::name(conn, company)?;
            let link = store::links::load(conn, link_id, Some(company))?;
            let accounts = store::accounts::names(conn, link_id)?;
            Ok((name, link, accounts))
        })
        .await;
    let (company_name, link, accounts): (String, LinkRow, Vec<String>) = match loaded {
        Ok(found) => found,
        Err(e) => {
            crate::error::log(&e, "saltedge return page");
            return invalid();
        }
    };
    let label = link.label();
    let (title, message, ok) = match (error, link.state()) {
        (Some(e), _) if e.kind() == crate::error::ErrorKind::AccessError => (
            "Bank connection not completed",
            "This bank connection cannot be used here. Go back to Odoo and start again from the bank connection."
                .to_string(),
            false,
        ),
        (Some(_), _) => (
            "Bank connection not completed",
            format!("\"{label}\" could not be completed now. Go back to Odoo: the bank connection shows what to do."),
            false,
        ),
        (None, LinkState::Fetching) => (
            "Bank account connected",
            format!("\"{label}\" is connected; the accounts and transactions are being fetched from the bank."),
            true,
        ),
        (None, LinkState::Connected) => ("Bank account connected", format!("\"{label}\" is connected."), true),
        (None, _) => (
            "Bank connection not completed",
            format!("\"{label}\" was not connected. Go back to Odoo: the bank connection shows what to do."),
            false,
        ),
    };
    render(Page { company: Some(&company_name), title, message: &message, accounts: &accounts, ok })
}
