//! What Odoo's buttons on `account.online.link` do: each returns at once with an Odoo action (a page to
//! open, or a notification); the work Salt Edge does afterwards is followed by `flows`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::saltedge::{ConnectOptions, ErrorKind as SeKind};
use crate::sync::customers::company_customer;
use crate::sync::failures::{fail_link, user_error};
use crate::sync::fetch::{self, too_early_message, FetchBy, FetchStart};
use crate::sync::follow::log_outcome;
use crate::sync::import::{self, ImportError};
use crate::sync::link_events::record;
use crate::sync::return_url::{allowed_return_to, issue_return_state};
use crate::sync::store::{self, links::Change, AttemptKind, LinkRow, LinkUpdate, ReturnState};
use crate::types::time::human_time;
use crate::types::{LinkEvent, LinkState};

/// What a button answers, for `models` to turn into Odoo's action: a page for the browser to open (the
/// aggregator's connect page), or a notice.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    OpenPage { url: String, link_id: i64 },
    Notice(Notice),
}

/// A notice for the user, with counts for programs (`accounts_added`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub title: String,
    pub message: String,
    pub level: Level,
    pub counts: BTreeMap<String, i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Warning,
}

impl Answer {
    pub fn notice(title: &str, message: impl Into<String>, level: Level) -> Answer {
        Answer::Notice(Notice { title: title.to_string(), message: message.into(), level, counts: BTreeMap::new() })
    }

    fn open_page(url: &str, link_id: i64) -> Answer {
        Answer::OpenPage { url: url.to_string(), link_id }
    }

    fn with_counts(mut self, counts: &[(&str, usize)]) -> Answer {
        if let Answer::Notice(notice) = &mut self {
            notice.counts.extend(counts.iter().map(|(k, v)| (k.to_string(), *v as i64)));
        }
        self
    }
}

/// Fills `account.online.institution` from Salt Edge's provider list; returns how many were new.
pub async fn refresh_institutions(app: &Arc<App>) -> Result<usize> {
    let bank = app.bank()?;
    let providers = bank.client.list_providers(None, bank.include_sandboxes).await.map_err(|e| user_error(None, &e))?;
    app.db(move |conn, _| store::institutions::upsert(conn, &providers)).await
}

fn valid_email(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

pub struct NewSynchronization {
    pub link_ids: Vec<i64>,
    pub institution_code: String,
    pub email: String,
    pub phone: Option<String>,
    pub return_to: Option<String>,
}

/// The return URL of a new attempt on `link`: a fresh one-time `state` bound to the link and attempt.
async fn attempt_return_url(
    app: &Arc<App>,
    link: &LinkRow,
    kind: AttemptKind,
    return_to: Option<String>,
) -> Result<String> {
    let state = ReturnState { link_id: link.id, company_id: link.company_id, kind, return_to };
    let token = issue_return_state(app, state).await?;
    Ok(app.bank()?.return_url(&token))
}

/// "Add a Bank Account": reuses the given link (or creates one) under the company's own Salt Edge
/// customer and opens Salt Edge's connect page with a consent step.
pub async fn new_synchronization(app: &Arc<App>, company_id: i64, req: NewSynchronization) -> Result<Answer> {
    let bank = app.bank()?;
    let code = req.institution_code.trim().to_string();
    if code.is_empty() {
        return Err(Error::user("Select the institution you want to synchronize."));
    }
    if !valid_email(&req.email) {
        return Err(Error::user(
            "Please give a valid email address: Salt Edge asks this contact to renew the consent.",
        ));
    }
    if req.link_ids.len() > 1 {
        return Err(Error::user("Start a new synchronization on one bank connection at a time."));
    }
    let return_to = allowed_return_to(app, company_id, req.return_to.as_deref()).await?;
    let lookup = code.clone();
    let mut institution = app.db(move |conn, _| store::institutions::by_code(conn, &lookup)).await?;
    if institution.is_none() {
        refresh_institutions(app).await?;
        let lookup = code.clone();
        institution = app.db(move |conn, _| store::institutions::by_code(conn, &lookup)).await?;
    }
    let (institution_id, institution_name) = institution.ok_or_else(|| {
        Error::user(format!("Unknown institution {code:?}: pick one from account.online.institution."))
    })?;

    let email = req.email.trim().to_lowercase();
    let customer_id = company_customer(app, company_id).await?;
    let link = {
        let (phone, code, customer_id, existing) =
            (req.phone.clone(), code.clone(), customer_id.clone(), req.link_ids.first().copied());
        let return_to = return_to.clone();
        app.db(move |conn, _| {
            let id = match existing {
                Some(id) => {
                    let link = store::links::load(conn, id, Some(company_id))?;
                    if link.connection_identifier.is_some() {
                        return Err(Error::user(format!(
                            "\"{}\" is already connected to the bank: use Update Credentials instead.",
                            link.label()
                        )));
                    }
                    id
                }
                None => store::links::create(
                    conn,
                    store::NewLink {
                        company_id,
                        name: &institution_name,
                        institution_id: Some(institution_id),
                        provider_code: &code,
                        email: &email,
                        phone: phone.as_deref(),
                    },
                )?,
            };
            store::links::update(
                conn,
                id,
                LinkUpdate {
                    name: Some(Some(institution_name.clone())),
                    institution_id: Some(Some(institution_id)),
                    provider_code: Some(Some(code.clone())),
                    client_id: Some(Some(customer_id)),
                    renewal_contact_email: Some(Some(email.clone())),
                    renewal_contact_phone: Some(phone.clone()),
                    return_url: Some(return_to),
                    ..Default::default()
                },
            )?;
            store::links::load(conn, id, Some(company_id))
        })
        .await?
    };
    let mut options = ConnectOptions::new(attempt_return_url(app, &link, AttemptKind::Connect, return_to).await?);
    options.provider_code = Some(code);
    options.include_sandboxes = bank.include_sandboxes;
    // Salt Edge echoes custom fields back; the company's name lets a connect page say who asks (the
    // built-in sandbox shows it, as Salt Edge's widget shows the client's name).
    let company_id = link.company_id;
    let company_name = app.db(move |conn, _| store::companies::name(conn, company_id)).await?;
    options.custom_fields = Some(serde_json::json!({"link_id": link.id.to_string(), "company_name": company_name}));
    let session = bank.client.connect_with(&customer_id, &options).await.map_err(|e| user_error(None, &e))?;
    Ok(Answer::open_page(&session.connect_url, link.id))
}

/// "Update Credentials": Salt Edge's reconnect page (credentials and consent renewal). A link whose first
/// connection was never completed (page abandoned or refused) gets the connect page again.
pub async fn update_credentials(
    app: &Arc<App>,
    company_id: i64,
    link_id: i64,
    return_to: Option<String>,
) -> Result<Answer> {
    let bank = app.bank()?;
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company_id))).await?;
    let return_to = match return_to {
        Some(url) => allowed_return_to(app, company_id, Some(&url)).await?,
        None => link.return_url.clone(),
    };
    let Some(connection) = link.connection_identifier.clone() else {
        return match (link.provider_code.clone(), link.renewal_contact_email.clone()) {
            (Some(code), Some(email)) => {
                let request = NewSynchronization {
                    link_ids: vec![link_id],
                    institution_code: code,
                    email,
                    phone: link.renewal_contact_phone.clone(),
                    return_to,
                };
                new_synchronization(app, company_id, request).await
            }
            _ => Err(Error::user(format!(
                "\"{}\" is not connected to a bank yet: click Connect (Add a Bank Account) first.",
                link.label()
            ))),
        };
    };
    let url = attempt_return_url(app, &link, AttemptKind::Reconnect, return_to).await?;
    let session = bank.client.reconnect(&connection, &url).await.map_err(|e| user_error(Some(&link), &e))?;
    Ok(Answer::open_page(&session.connect_url, link_id))
}

fn connected(link: &LinkRow) -> Result<String> {
    link.connection_identifier.clone().ok_or_else(|| {
        Error::user(match &link.error_message {
            Some(message) if !message.is_empty() && link.state() == LinkState::Error => message.clone(),
            _ => format!(
                "\"{}\" is not connected to a bank yet: click Connect (Add a Bank Account) first.",
                link.label()
            ),
        })
    })
}

/// "Fetch Accounts": adds the accounts Salt Edge knows that the link lacks (never twice); when there are
/// none, opens Salt Edge's refresh page so the bank can report newly opened accounts.
pub async fn fetch_accounts(app: &Arc<App>, company_id: i64, link_id: i64) -> Result<Answer> {
    let bank = app.bank()?;
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company_id))).await?;
    let connection = connected(&link)?;
    let (added, updated, _) = match import::sync_accounts(app, &link, &connection).await {
        Ok(counts) => counts,
        Err(ImportError::SaltEdge(e)) => return Err(fail_link(app, &link, &e).await),
        Err(ImportError::Bridge(e)) => return Err(e),
    };
    let counts = [("accounts_added", added), ("accounts_updated", updated)];
    if added > 0 {
        let message =
            format!("{added} new account{} added to \"{}\".", if added == 1 { "" } else { "s" }, link.label());
        return Ok(Answer::notice("New accounts", message, Level::Success).with_counts(&counts));
    }
    let url = attempt_return_url(app, &link, AttemptKind::Refresh, link.return_url.clone()).await?;
    match bank.client.refresh(&connection, &url).await {
        Ok(session) => Ok(Answer::open_page(&session.connect_url, link_id)),
        Err(e) if e.kind() == SeKind::RetryLater => {
            let message = format!("No new account on \"{}\". {}", link.label(), e.message());
            Ok(Answer::notice("Accounts up to date", message, Level::Info).with_counts(&counts))
        }
        Err(e) => Err(fail_link(app, &link, &e).await),
    }
}

/// "Fetch Transactions": starts the synchronization and returns at once; the link shows it running
/// (`fetching`, `sync_progress`) and then its result.
pub async fn fetch_transactions(app: &Arc<App>, company_id: i64, link_ids: &[i64]) -> Result<Answer> {
    let mut started = Vec::new();
    let mut notes = Vec::new();
    for &link_id in link_ids {
        let start = fetch::start_fetch(app, Some(company_id), link_id, FetchBy::User).await?;
        let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company_id))).await?;
        match start {
            FetchStart::AlreadyRunning => {
                notes.push(format!("A synchronization of \"{}\" is already running.", link.label()))
            }
            FetchStart::TooEarly { until, .. } => {
                notes.push(too_early_message(&link.label(), until));
                spawn_run(app, link_id, start);
            }
            start @ FetchStart::Refreshing { .. } => {
                started.push(format!("\"{}\"", link.label()));
                spawn_run(app, link_id, start);
            }
        }
    }
    let mut parts = Vec::new();
    if !started.is_empty() {
        parts.push(format!(
            "Synchronization running for {}: the transactions appear when Salt Edge has fetched them from the bank.",
            started.join(", ")
        ));
    }
    parts.extend(notes);
    let level = if started.is_empty() { Level::Warning } else { Level::Info };
    Ok(Answer::notice("Synchronization running", parts.join(" "), level))
}

fn spawn_run(app: &Arc<App>, link_id: i64, start: FetchStart) {
    let app = Arc::clone(app);
    tokio::spawn(async move {
        log_outcome(link_id, fetch::run_fetch(&app, link_id, start, &()).await);
    });
}

/// "Revoke consent": the bank stops sharing data; the connection stays at Salt Edge until removed.
pub async fn revoke_consent(app: &Arc<App>, company: i64, link_id: i64) -> Result<LinkRow> {
    let bank = app.bank()?;
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    let connection = connected(&link)?;
    let consents = match bank.client.list_consents(&connection).await {
        Ok(c) => c,
        // The connection is gone at Salt Edge: no consent left to revoke.
        Err(e) if e.class() == Some("ConnectionNotFound") => Vec::new(),
        Err(e) => return Err(user_error(Some(&link), &e)),
    };
    for consent in consents.iter().filter(|c| !c.is_revoked()) {
        match bank.client.revoke_consent(&connection, &consent.id).await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.class(),
                    Some(
                        "ConsentNotFound" | "AispConsentNotFound" | "AispConsentAlreadyRevoked" | "AispConsentRevoked"
                    )
                ) => {}
            Err(e) => return Err(user_error(Some(&link), &e)),
        }
    }
    let message = format!(
        "Consent revoked on {}. The connection still exists at Salt Edge: click Update Credentials to give consent again, or Remove connection to delete it.",
        human_time(chrono::Utc::now())
    );
    record(app, link_id, Change::new(LinkEvent::Revoked).message(message)).await?;
    Ok(link)
}

/// "Remove connection": deletes the connection at Salt Edge (only `ConnectionNotFound` counts as already
/// done), after which the record itself may be deleted.
pub async fn remove_connection(app: &Arc<App>, company: i64, link_id: i64) -> Result<LinkRow> {
    let bank = app.bank()?;
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    if let Some(connection) = &link.connection_identifier {
        bank.client.remove_connection(connection).await.map_err(|e| user_error(Some(&link), &e))?;
    }
    let change = Change::new(LinkEvent::Removed)
        .message("The connection was removed at Salt Edge; this record can now be deleted.")
        .columns(LinkUpdate { connection_identifier: Some(None), ..Default::default() });
    record(app, link_id, change).await?;
    Ok(link)
}

/// `unlink` of links: revoke first; a link whose connection still exists at Salt Edge stays (as Odoo's
/// FAQ explains) and the user is told how to remove it for good. Links that are not there (or not the
/// company's) are skipped, as Odoo's unlink does; any other failure stops the unlink.
pub async fn before_unlink(app: &Arc<App>, company: i64, link_ids: &[i64]) -> Result<()> {
    let mut kept = Vec::new();
    for &id in link_ids {
        let Some(link) = app.db(move |conn, _| store::links::find(conn, id, company)).await? else { continue };
        if link.connection_identifier.is_some() {
            if link.state() != LinkState::Disconnected {
                revoke_consent(app, company, id).await?;
            }
            kept.push(link.label());
        }
    }
    if kept.is_empty() {
        return Ok(());
    }
    Err(Error::user(format!(
        "The consent for {} has been revoked, but the connection still exists at Salt Edge, so the record is kept. \
         Click \"Remove connection\" to delete the connection at Salt Edge, then delete the record.",
        kept.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
    )))
}
