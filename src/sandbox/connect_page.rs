//! The hosted connect page (`/connect/{token}`): the sandbox's stand-in for Salt Edge's widget.
//!
//! GET renders a form (bank, login, password, SMS code for interactive providers, a consent
//! checkbox). POST validates it: without the consent ticked nothing happens and the form comes
//! back with an error; failed logins show the error and send a `fail` callback; a success
//! creates or updates the connection, starts its attempt (see `attempts`) and redirects (302)
//! to `return_to` at once (with `connection_id` when asked); the attempt's `notify` and
//! `success` callbacks follow.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};

use super::attempts::{self, Interaction, Work};
use super::callbacks::{self, Callback};
use super::data::{self, ProviderBehaviour, ProviderDef};
use super::state::{ConnectionRec, ConnectionStatus, SandboxState, SessionKind, SessionRec};
use super::Shared;
use crate::html::escape as html_escape;

/// Shown when the consent box was not ticked.
pub const CONSENT_REQUIRED_MESSAGE: &str =
    "You must give your consent to share your account information before connecting.";
/// Shown for a second link of the same login at the same provider.
pub const DUPLICATE_MESSAGE: &str = "You have already used these credentials to connect this provider.";

pub(crate) async fn show(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let token = path.into_inner();
    let now = Utc::now();
    let state = shared.lock();
    match usable_session(&state, &token, now) {
        Err((status, message)) => message_page(status, "Connect", &message),
        Ok(session) => {
            let view = FormView::new(&state, session, &shared);
            html(StatusCode::OK, view.render(None, ""))
        }
    }
}

pub(crate) async fn submit(path: web::Path<String>, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let token = path.into_inner();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let outcome = {
        let mut state = shared.lock();
        process(&shared, &mut state, &token, &form, Utc::now())
    };
    match outcome {
        Outcome::Page(status, page) => html(status, page),
        Outcome::Failed(page, callbacks) => {
            callbacks::send_all(&shared, callbacks).await;
            html(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Outcome::Connected(location, callbacks) => {
            callbacks::send_all(&shared, callbacks).await;
            HttpResponse::Found().insert_header(("Location", location)).finish()
        }
    }
}

enum Outcome {
    /// Just a page (session problem, or form incomplete): nothing changed, nothing sent.
    Page(StatusCode, String),
    /// The bank refused: show the error and send the fail callback.
    Failed(String, Vec<Callback>),
    /// Done: redirect there after sending the callbacks.
    Connected(String, Vec<Callback>),
}

fn usable_session<'a>(
    state: &'a SandboxState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<&'a SessionRec, (StatusCode, String)> {
    let session = state.sessions.get(token).ok_or((
        StatusCode::NOT_FOUND,
        "This connect link is unknown. Start again from your application.".to_string(),
    ))?;
    if session.completed {
        return Err((
            StatusCode::GONE,
            "This connect link was already used. Start again from your application.".to_string(),
        ));
    }
    if session.expires_at <= now {
        return Err((
            StatusCode::GONE,
            "This connect link has expired. Start again from your application.".to_string(),
        ));
    }
    Ok(session)
}

fn is_ticked(form: &HashMap<String, String>, name: &str) -> bool {
    matches!(form.get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref(), Some("yes" | "on" | "true" | "1"))
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or_default()
}

/// What the bank customer is told about a failed attempt of class `class`.
fn customer_message(class: &str, bank: &str) -> String {
    match class {
        "InvalidCredentials" => "The login or password is not correct. Check them and try again.".to_string(),
        "InvalidInteractiveCredentials" => "The SMS code is missing or not correct.".to_string(),
        "ConnectionDuplicated" => DUPLICATE_MESSAGE.to_string(),
        "CredentialsNotMatch" => "These credentials belong to another login at this bank.".to_string(),
        "ProviderAccessNotGranted" => "Access was not granted at the bank.".to_string(),
        _ => format!("{bank} could not be reached. Please try again later."),
    }
}

/// The bank's verdict on the submitted credentials: `Err((error_class, message))`.
fn check_credentials(
    provider: &ProviderDef,
    form: &HashMap<String, String>,
    ask_credentials: bool,
) -> Result<(), (String, String)> {
    let password = field(form, "password");
    if ask_credentials {
        if provider.behaviour == ProviderBehaviour::WithError {
            let class = if !password.is_empty()
                && password.len() <= 64
                && password.starts_with(|c: char| c.is_ascii_uppercase())
                && password.chars().all(|c| c.is_ascii_alphanumeric())
            {
                password.to_string()
            } else {
                "InvalidCredentials".to_string()
            };
            // As Salt Edge's fail_message: the bank's words; the class travels apart.
            let message = customer_message(&class, provider.name);
            return Err((class, message));
        }
        if field(form, "login").is_empty() || password != data::VALID_PASSWORD {
            return Err(("InvalidCredentials".to_string(), "Invalid login or password.".to_string()));
        }
    }
    if provider.interactive() && field(form, "sms_code") != data::SMS_CODE {
        return Err(("InvalidInteractiveCredentials".to_string(), "The SMS code is missing or wrong.".to_string()));
    }
    Ok(())
}

fn process(
    shared: &web::Data<Shared>,
    state: &mut SandboxState,
    token: &str,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Outcome {
    let session = match usable_session(state, token, now) {
        Ok(session) => session.clone(),
        Err((status, message)) => return Outcome::Page(status, message_html("Connect", &message)),
    };
    let view = FormView::new(state, &session, shared);
    let login = field(form, "login").to_string();
    let chosen =
        data::find_provider(field(form, "provider_code")).filter(|p| session.include_sandboxes || !p.is_fake());
    let Some(provider) = view.provider.or(chosen) else {
        return Outcome::Page(StatusCode::UNPROCESSABLE_ENTITY, view.render(Some("Choose your bank."), &login));
    };
    let view = FormView { provider: Some(provider), ..view };
    if !is_ticked(form, "consent") {
        return Outcome::Page(StatusCode::UNPROCESSABLE_ENTITY, view.render(Some(CONSENT_REQUIRED_MESSAGE), &login));
    }
    let verdict = check_credentials(provider, form, view.asks_credentials()).and_then(|()| match &session.kind {
        SessionKind::Connect { customer_id, .. } => {
            let duplicate = state
                .connections
                .values()
                .any(|c| c.customer_id == *customer_id && c.provider.code == provider.code && c.login == login);
            if duplicate {
                Err(("ConnectionDuplicated".to_string(), DUPLICATE_MESSAGE.to_string()))
            } else {
                Ok(())
            }
        }
        SessionKind::Reconnect { connection_id } => match state.connections.get(connection_id) {
            Some(connection) if connection.login != login => Err((
                "CredentialsNotMatch".to_string(),
                "These credentials do not match the ones of this connection.".to_string(),
            )),
            _ => Ok(()),
        },
        SessionKind::Refresh { .. } => Ok(()),
    });
    match verdict {
        Err((class, message)) => fail(state, &session, &view, &login, &class, &message, now),
        Ok(()) => succeed(shared, state, token, &session, provider, login, now),
    }
}

#[allow(clippy::too_many_arguments)]
fn fail(
    state: &mut SandboxState,
    session: &SessionRec,
    view: &FormView,
    login: &str,
    class: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let callback = match session.kind {
        SessionKind::Connect { customer_id, .. } => {
            // A failed first login creates nothing (sandbox convention).
            Callback::new("fail", None, customer_id, &session.custom_fields)
        }
        SessionKind::Reconnect { connection_id } | SessionKind::Refresh { connection_id } => {
            let attempt = state.new_attempt(now, session.custom_fields.clone(), Some((class, message)));
            let Some(connection) = state.connections.get_mut(&connection_id) else {
                return Outcome::Page(StatusCode::GONE, message_html("Connect", "This connection no longer exists."));
            };
            connection.last_attempt = attempt;
            connection.updated_at = now;
            if matches!(session.kind, SessionKind::Reconnect { .. }) {
                connection.status = ConnectionStatus::Inactive;
            }
            Callback::new("fail", Some(connection_id), connection.customer_id, &session.custom_fields)
        }
    };
    let mut back = url::Url::parse(&session.return_to).ok();
    if let (Some(url), true) = (back.as_mut(), session.return_error_class) {
        url.query_pairs_mut().append_pair("error_class", class);
    }
    // The bank customer reads words, never an error class (that goes to the application).
    let text = customer_message(class, view.provider.map_or("The bank", |p| p.name));
    let back = back.as_ref().map(url::Url::as_str);
    // A duplicate ends the attempt (this login is connected already): as Salt Edge's widget does, the
    // browser goes back to the application by itself; other failures may be fixed on the form.
    let page = if class == "ConnectionDuplicated" && back.is_some() {
        view.render_leaving(&text, back.unwrap_or_default())
    } else {
        view.render_with_back(Some(&text), login, back)
    };
    Outcome::Failed(page, vec![callback.error(class, message)])
}

fn succeed(
    shared: &web::Data<Shared>,
    state: &mut SandboxState,
    token: &str,
    session: &SessionRec,
    provider: &'static ProviderDef,
    login: String,
    now: DateTime<Utc>,
) -> Outcome {
    let cfg = &shared.cfg;
    let attempt = state.start_attempt(now, session.custom_fields.clone());
    let attempt_id = attempt.id;
    let (connection_id, work) = match session.kind {
        SessionKind::Connect { customer_id, .. } => {
            let id = state.new_id();
            let consent = state.new_consent(now, session.scopes.clone(), session.from_date.clone(), cfg.consent_days);
            // The connection exists from now on; its accounts come when the attempt finishes.
            state.connections.insert(
                id,
                ConnectionRec {
                    id,
                    customer_id,
                    provider,
                    login,
                    status: ConnectionStatus::Active,
                    created_at: now,
                    updated_at: now,
                    next_refresh_possible_at: None,
                    last_attempt: attempt,
                    consents: vec![consent],
                    accounts: Vec::new(),
                    background_refreshes: Vec::new(),
                },
            );
            (id, Work::Link)
        }
        SessionKind::Reconnect { connection_id } | SessionKind::Refresh { connection_id } => {
            let consent = matches!(session.kind, SessionKind::Reconnect { .. })
                .then(|| state.new_consent(now, session.scopes.clone(), session.from_date.clone(), cfg.consent_days));
            let Some(connection) = state.connections.get_mut(&connection_id) else {
                return Outcome::Page(StatusCode::GONE, message_html("Connect", "This connection no longer exists."));
            };
            if connection.is_processing() {
                return Outcome::Page(
                    StatusCode::CONFLICT,
                    message_html("Connect", "This connection is already being refreshed. Try again in a moment."),
                );
            }
            connection.status = ConnectionStatus::Active;
            connection.consents.extend(consent);
            connection.last_attempt = attempt;
            connection.next_refresh_possible_at = None;
            connection.updated_at = now;
            (connection_id, Work::Refresh)
        }
    };
    if let Some(stored) = state.sessions.get_mut(token) {
        stored.completed = true;
    }
    // The SMS code of an interactive bank was typed on this page.
    let interaction = if provider.interactive() { Interaction::Answered } else { Interaction::None };
    let callbacks = attempts::launch(shared, state, connection_id, attempt_id, work, interaction, now);
    let location = match url::Url::parse(&session.return_to) {
        Ok(mut url) if session.return_connection_id => {
            url.query_pairs_mut().append_pair("connection_id", &connection_id.to_string());
            url.to_string()
        }
        _ => session.return_to.clone(),
    };
    Outcome::Connected(location, callbacks)
}

/// What the form shows for a session.
struct FormView {
    provider: Option<&'static ProviderDef>,
    requester: String,
    kind: SessionKindName,
    include_sandboxes: bool,
    consent_days: u32,
    fixed_login: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SessionKindName {
    Connect,
    Reconnect,
    Refresh,
}

impl FormView {
    fn new(state: &SandboxState, session: &SessionRec, shared: &Shared) -> FormView {
        let (provider, kind, fixed_login) = match &session.kind {
            SessionKind::Connect { provider_code, .. } => {
                (provider_code.as_deref().and_then(data::find_provider), SessionKindName::Connect, None)
            }
            SessionKind::Reconnect { connection_id } => {
                let connection = state.connections.get(connection_id);
                (connection.map(|c| c.provider), SessionKindName::Reconnect, connection.map(|c| c.login.clone()))
            }
            SessionKind::Refresh { connection_id } => {
                (state.connections.get(connection_id).map(|c| c.provider), SessionKindName::Refresh, None)
            }
        };
        FormView {
            provider,
            requester: session.requester.clone(),
            kind,
            include_sandboxes: session.include_sandboxes,
            consent_days: shared.cfg.consent_days,
            fixed_login,
        }
    }

    /// A refresh only asks for the SMS code (if any); connect and reconnect ask for credentials.
    fn asks_credentials(&self) -> bool {
        self.kind != SessionKindName::Refresh
    }

    fn render(&self, error: Option<&str>, login: &str) -> String {
        self.render_with_back(error, login, None)
    }

    /// An attempt that cannot go on: why, and the way back to the application, taken by itself after
    /// a few seconds.
    fn render_leaving(&self, error: &str, back: &str) -> String {
        let body = format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n\
             <p><a class=\"button\" id=\"return\" href=\"{back}\">Back to {}</a></p>\n\
             <p class=\"hint\">You are taken back in {RETURN_AFTER_SECONDS} seconds.</p>\n",
            html_escape(error),
            html_escape(&self.requester),
            back = html_escape(back),
        );
        let refresh = format!("{RETURN_AFTER_SECONDS};url={back}");
        page_with_refresh("Connect", &body, Some(&refresh))
    }

    fn render_with_back(&self, error: Option<&str>, login: &str, back: Option<&str>) -> String {
        let title = match (self.kind, self.provider) {
            (SessionKindName::Connect, Some(p)) => format!("Connect {}", p.name),
            (SessionKindName::Connect, None) => "Connect your bank".to_string(),
            (SessionKindName::Reconnect, p) => {
                format!("Reconnect {}", p.map(|p| p.name).unwrap_or("your bank"))
            }
            (SessionKindName::Refresh, p) => {
                format!("Refresh {}", p.map(|p| p.name).unwrap_or("your bank"))
            }
        };
        let mut body = format!(
            "<p class=\"requester\"><strong>{}</strong> asks to {} your bank account.</p>\n",
            html_escape(&self.requester),
            match self.kind {
                SessionKindName::Connect => "connect",
                SessionKindName::Reconnect => "reconnect",
                SessionKindName::Refresh => "refresh",
            }
        );
        if let Some(error) = error {
            body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(error)));
        }
        body.push_str("<form method=\"post\">\n");
        match self.provider {
            Some(provider) => body.push_str(&format!(
                "<p>Bank: <strong>{}</strong> ({})</p>\n<input type=\"hidden\" name=\"provider_code\" value=\"{}\">\n",
                html_escape(provider.name),
                html_escape(provider.country_code),
                html_escape(provider.code)
            )),
            None => {
                body.push_str(
                    "<label>Bank <select name=\"provider_code\" required>\n<option value=\"\">Choose…</option>\n",
                );
                for provider in data::PROVIDERS.iter().filter(|p| self.include_sandboxes || !p.is_fake()) {
                    body.push_str(&format!(
                        "<option value=\"{}\">{} ({})</option>\n",
                        html_escape(provider.code),
                        html_escape(provider.name),
                        html_escape(provider.country_code)
                    ));
                }
                body.push_str("</select></label>\n");
            }
        }
        if self.asks_credentials() {
            let login = self.fixed_login.as_deref().unwrap_or(login);
            body.push_str(&format!(
                "<label>Login <input name=\"login\" autocomplete=\"username\" required value=\"{}\"></label>\n\
                 <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n",
                html_escape(login)
            ));
        }
        let interactive = self.provider.is_none_or(ProviderDef::interactive);
        if interactive {
            body.push_str(&format!(
                "<label>SMS code <input name=\"sms_code\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\n\
                 <p class=\"hint\">Sandbox: the SMS code is {}{}.</p>\n",
                data::SMS_CODE,
                if self.provider.is_none() { " (only banks that ask for one)" } else { "" }
            ));
        }
        body.push_str(&format!(
            "<label class=\"consent\"><input type=\"checkbox\" name=\"consent\" value=\"yes\"> \
             I give my consent to share my account details and transactions with {} for {} days.</label>\n\
             <button type=\"submit\">{}</button>\n</form>\n",
            html_escape(&self.requester),
            self.consent_days,
            if self.kind == SessionKindName::Refresh { "Refresh" } else { "Connect" }
        ));
        if let Some(back) = back {
            body.push_str(&format!(
                "<p><a class=\"button\" id=\"return\" href=\"{}\">Back to {}</a></p>\n",
                html_escape(back),
                html_escape(&self.requester)
            ));
        }
        if self.asks_credentials() {
            body.push_str("<p class=\"hint\">Sandbox: any login with password <code>secret</code> works.</p>\n");
        }
        page(&title, &body)
    }
}

/// Seconds a page of an attempt that cannot go on shows before the browser goes back.
const RETURN_AFTER_SECONDS: u32 = 3;

fn page(title: &str, body: &str) -> String {
    page_with_refresh(title, body, None)
}

fn page_with_refresh(title: &str, body: &str, refresh: Option<&str>) -> String {
    let refresh =
        refresh.map(|r| format!("<meta http-equiv=\"refresh\" content=\"{}\">\n", html_escape(r))).unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{refresh}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Salt Edge sandbox</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}\n\
         .banner {{ background: #fff4d6; padding: .5rem .75rem; border-radius: 4px; font-size: .9rem; }}\n\
         label {{ display: block; margin: .75rem 0; }}\n\
         input:not([type=checkbox]), select {{ display: block; width: 100%; padding: .4rem; margin-top: .25rem; box-sizing: border-box; }}\n\
         .error {{ color: #a00; background: #fde8e8; padding: .5rem .75rem; border-radius: 4px; }}\n\
         .hint {{ color: #666; font-size: .85rem; }}\n\
         button, .button {{ padding: .5rem 1.5rem; }}\n\
         .button {{ display: inline-block; background: #35576b; color: #fff; text-decoration: none; border-radius: 4px; }}\n</style>\n</head>\n<body>\n<main>\n\
         <p class=\"banner\">Salt Edge sandbox: a test double, not a real bank.</p>\n\
         <h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n",
        title = html_escape(title),
    )
}

fn message_html(title: &str, message: &str) -> String {
    page(title, &format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(message)))
}

fn message_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    html(status, message_html(title, message))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// What the connect page answered to a form submission.
#[derive(Debug, Clone)]
pub struct FormResult {
    pub status: u16,
    /// `Location` of a redirect (on success: `return_to` with `connection_id`).
    pub location: Option<String>,
    pub body: String,
}

impl FormResult {
    /// `connection_id` from the redirect, if the link succeeded.
    pub fn connection_id(&self) -> Option<String> {
        let location = url::Url::parse(self.location.as_deref()?).ok()?;
        location.query_pairs().find(|(key, _)| key == "connection_id").map(|(_, value)| value.into_owned())
    }
}

/// Fills in and submits the hosted connect page the way a browser would (for tests and
/// scripted demos). `provider_code` is only needed when the session did not preselect one.
pub async fn submit_form(
    connect_url: &str,
    provider_code: Option<&str>,
    login: &str,
    password: &str,
    sms_code: Option<&str>,
    consent: bool,
) -> Result<FormResult, String> {
    crate::saltedge::install_crypto_provider();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    if let Some(code) = provider_code {
        form.append_pair("provider_code", code);
    }
    form.append_pair("login", login);
    form.append_pair("password", password);
    if let Some(code) = sms_code {
        form.append_pair("sms_code", code);
    }
    if consent {
        form.append_pair("consent", "yes");
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let response = http
        .post(connect_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .map_err(|e| format!("connect page unreachable: {}", e.without_url()))?;
    let status = response.status().as_u16();
    let location = response.headers().get("Location").and_then(|value| value.to_str().ok()).map(str::to_string);
    let body = response.text().await.map_err(|e| format!("connect page answer: {}", e.without_url()))?;
    Ok(FormResult { status, location, body })
}
