//! The bank's hosted authorization page (`/sandbox-bank/authorize/{authorization_id}`): the sandbox's
//! stand-in for the bank the user is sent to by `POST /auth`'s `url`.
//!
//! GET shows the bank, who asks for access and until when, and a login form (user name, password) with
//! Approve and Cancel. POST checks it: a wrong password shows the form again; Approve issues a
//! single-use code and redirects (302) to the `redirect_url` with `code` and `state`; Cancel redirects
//! with `error=access_denied`, `error_description` and `state`. An authorization can be finished once,
//! within [`AUTHORIZATION_LIFETIME_MINUTES`](super::AUTHORIZATION_LIFETIME_MINUTES).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use chrono::Duration as ChronoDuration;
use url::Url;

use super::data::{self, BANKS};
use super::state::{self, AuthorizationRec, AuthorizationStatus, CodeRec, EbState};
use super::{Shared, AUTHORIZATION_LIFETIME_MINUTES};
use crate::html::escape;

/// Shown for a wrong user name or password.
pub const WRONG_LOGIN: &str = "Wrong user name or password.";

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>",
        title = escape(title)
    ))
}

/// The authorization, if its page can still be used at the sandbox's `now`.
fn open_authorization(state: &EbState, id: &str) -> Option<AuthorizationRec> {
    let record = state.authorizations.get(id)?;
    let expired = state.now() >= record.created + ChronoDuration::minutes(AUTHORIZATION_LIFETIME_MINUTES);
    (record.status == AuthorizationStatus::Pending && !expired).then(|| record.clone())
}

fn gone() -> HttpResponse {
    page(StatusCode::GONE, "Authorization", "<p>This authorization is no longer open.</p>")
}

fn form(shared: &Shared, record: &AuthorizationRec, error: Option<&str>, username: &str) -> HttpResponse {
    let bank = &BANKS[record.bank];
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let body = format!(
        "<h1>{bank_name}</h1>\
         <p><strong>{app}</strong> asks to read your accounts' details, balances and transactions until {until}.</p>\
         {error}\
         <form method=\"post\">\
         <label>User name <input name=\"username\" value=\"{username}\" autocomplete=\"username\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button name=\"action\" value=\"approve\" type=\"submit\">Approve</button>\
         <button name=\"action\" value=\"cancel\" type=\"submit\">Cancel</button>\
         </form>\
         <p><small>Sandbox: any user name (e.g. \"{user}\"), password \"{password}\".</small></p>",
        bank_name = escape(&format!("{} ({})", bank.name, bank.country)),
        app = escape(&shared.cfg.app_name),
        until = escape(&record.valid_until.format("%-d %b %Y").to_string()),
        username = escape(username),
        user = data::SANDBOX_USER,
        password = data::PASSWORD,
    );
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    page(status, bank.name, &body)
}

pub(crate) async fn show(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let state = shared.lock();
    match open_authorization(&state, &path) {
        Some(record) => form(&shared, &record, None, ""),
        None => gone(),
    }
}

/// `redirect_url` with `pairs` added to its query.
fn back_to(redirect_url: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(redirect_url).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
    }
    Some(url.to_string())
}

fn redirect(location: Option<String>) -> HttpResponse {
    match location {
        Some(location) => HttpResponse::Found().insert_header(("Location", location)).finish(),
        None => page(StatusCode::BAD_REQUEST, "Authorization", "<p>The application's redirect URL is not usable.</p>"),
    }
}

pub(crate) async fn submit(path: web::Path<String>, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let form_fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form_fields.get(name).map(|v| v.trim()).unwrap_or("");
    let mut state = shared.lock();
    let Some(record) = open_authorization(&state, &path) else { return gone() };
    match field("action") {
        "cancel" => {
            if let Some(open) = state.authorizations.get_mut(&record.id) {
                open.status = AuthorizationStatus::Cancelled;
            }
            redirect(back_to(
                &record.redirect_url,
                &[
                    ("error", "access_denied"),
                    ("error_description", "The user cancelled the authorization at the bank"),
                    ("state", &record.state),
                ],
            ))
        }
        "approve" => {
            let username = field("username");
            if username.is_empty() || username.len() > 100 || field("password") != data::PASSWORD {
                return form(&shared, &record, Some(WRONG_LOGIN), username);
            }
            let code = state::secret_token();
            let issued = state.now();
            state.codes.insert(
                code.clone(),
                CodeRec { authorization_id: record.id.clone(), user: username.to_string(), issued, session_id: None },
            );
            if let Some(open) = state.authorizations.get_mut(&record.id) {
                open.status = AuthorizationStatus::Returned;
            }
            redirect(back_to(&record.redirect_url, &[("code", &code), ("state", &record.state)]))
        }
        _ => form(&shared, &record, Some("Choose Approve or Cancel."), field("username")),
    }
}
