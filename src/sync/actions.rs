//! What Odoo's buttons on `account.online.link` do, whichever aggregator the link goes through: each
//! returns at once with an Odoo action (a page to open, or a notification); the aggregator's own part is
//! behind `sync::aggregator`, the work that follows runs in the background (`sync::fetch`).

use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::sync::aggregator::Aggregator;
use crate::sync::answer::{Answer, Level};
use crate::sync::fetch::{self, FetchBy};
use crate::sync::fetch_start::FetchStart;
use crate::sync::follow::log_outcome;
use crate::sync::link_events::{connected, record};
use crate::sync::return_url::allowed_return_to;
use crate::sync::store::{self, links::Change, AttemptKind, LinkRow, LinkUpdate};
use crate::types::{LinkEvent, LinkState};

/// Fills `account.online.institution` from every configured aggregator's list; returns how many were
/// new. What one aggregator lists is stored even when another fails; the first failure is then returned.
pub async fn refresh_institutions(app: &Arc<App>) -> Result<usize> {
    let mut records = Vec::new();
    let mut failed = None;
    for aggregator in Aggregator::configured(app) {
        match aggregator.institutions().await {
            Ok(listed) => records.extend(listed),
            Err(e) => {
                tracing::warn!(aggregator = %aggregator.provider(), error = e.message(), "could not list institutions");
                failed.get_or_insert(e);
            }
        }
    }
    let added = app.db(move |conn, _| store::institutions::upsert(conn, &records)).await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(added),
    }
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

/// "Add a Bank Account": reuses the given link (or creates one) for the institution's aggregator and
/// opens that aggregator's connect page.
pub async fn new_synchronization(app: &Arc<App>, company_id: i64, req: NewSynchronization) -> Result<Answer> {
    let code = req.institution_code.trim().to_string();
    if code.is_empty() {
        return Err(Error::user("Select the institution you want to synchronize."));
    }
    if !valid_email(&req.email) {
        return Err(Error::user("Please give a valid email address: the bank asks this contact to renew the consent."));
    }
    if req.link_ids.len() > 1 {
        return Err(Error::user("Start a new synchronization on one bank connection at a time."));
    }
    let return_to = allowed_return_to(app, company_id, req.return_to.as_deref()).await?;
    let lookup = code.clone();
    let mut institution = app.db(move |conn, _| store::institutions::by_code(conn, &lookup)).await?;
    let mut refresh_failed = None;
    if institution.is_none() {
        // One aggregator failing to list its banks must not hide another's (they are stored regardless).
        refresh_failed = refresh_institutions(app).await.err();
        let lookup = code.clone();
        institution = app.db(move |conn, _| store::institutions::by_code(conn, &lookup)).await?;
    }
    let institution = match (institution, refresh_failed) {
        (Some(institution), _) => institution,
        (None, Some(e)) => return Err(e),
        (None, None) => {
            return Err(Error::user(format!("Unknown institution {code:?}: pick one from account.online.institution.")))
        }
    };
    let provider = institution.provider();
    let aggregator = Aggregator::of(app, provider)?;

    let email = req.email.trim().to_lowercase();
    let link = {
        let (phone, existing) = (req.phone.clone(), req.link_ids.first().copied());
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
                        provider,
                        company_id,
                        name: &institution.name,
                        institution_id: Some(institution.id),
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
                    name: Some(Some(institution.name.clone())),
                    institution_id: Some(Some(institution.id)),
                    provider_code: Some(Some(code.clone())),
                    provider: Some(provider.as_str().to_string()),
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
    aggregator.connect_page(app, &link, AttemptKind::Connect, return_to).await
}

/// "Update Credentials": the aggregator's page to renew the consent (Salt Edge's reconnect page, a new
/// authorization at the bank for Enable Banking). A link whose first connection was never completed
/// (page abandoned or refused) gets the connect page again.
pub async fn update_credentials(
    app: &Arc<App>,
    company_id: i64,
    link_id: i64,
    return_to: Option<String>,
) -> Result<Answer> {
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company_id))).await?;
    let return_to = match return_to {
        Some(url) => allowed_return_to(app, company_id, Some(&url)).await?,
        None => link.return_url.clone(),
    };
    if link.connection_identifier.is_none() {
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
    }
    Aggregator::of_link(app, &link)?.connect_page(app, &link, AttemptKind::Reconnect, return_to).await
}

/// "Fetch Accounts": adds the accounts the aggregator knows that the link lacks (never twice).
pub async fn fetch_accounts(app: &Arc<App>, company_id: i64, link_id: i64) -> Result<Answer> {
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company_id))).await?;
    connected(&link)?;
    Aggregator::of_link(app, &link)?.fetch_accounts(app, &link).await
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
            FetchStart::NotBefore { until } => notes.push(fetch::not_before_message(&link.label(), until)),
            FetchStart::TooEarly { until, .. } => {
                notes.push(fetch::too_early_message(&link.label(), until));
                spawn_run(app, link_id, start);
            }
            start @ (FetchStart::Refreshing { .. } | FetchStart::Reading { .. }) => {
                started.push((format!("\"{}\"", link.label()), link.provider().label()));
                spawn_run(app, link_id, start);
            }
        }
    }
    let mut parts = Vec::new();
    if !started.is_empty() {
        let names: Vec<&str> = started.iter().map(|(name, _)| name.as_str()).collect();
        let mut aggregators: Vec<&str> = started.iter().map(|(_, aggregator)| *aggregator).collect();
        aggregators.dedup();
        parts.push(format!(
            "Synchronization running for {}: the transactions appear when {} has fetched them from the bank.",
            names.join(", "),
            aggregators.join(" and ")
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

/// "Revoke consent": the bank stops sharing data.
pub async fn revoke_consent(app: &Arc<App>, company: i64, link_id: i64) -> Result<LinkRow> {
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    connected(&link)?;
    let message = Aggregator::of_link(app, &link)?.revoke(app, &link).await?;
    record(app, link_id, Change::new(LinkEvent::Revoked).message(message)).await?;
    Ok(link)
}

/// "Remove connection": deletes the connection at the aggregator (already gone counts as done), after
/// which the record itself may be deleted.
pub async fn remove_connection(app: &Arc<App>, company: i64, link_id: i64) -> Result<LinkRow> {
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    let message = Aggregator::of_link(app, &link)?.remove(&link).await?;
    let change = Change::new(LinkEvent::Removed)
        .message(message)
        .columns(LinkUpdate { connection_identifier: Some(None), ..Default::default() });
    record(app, link_id, change).await?;
    Ok(link)
}

/// `unlink` of links: revoke first; a link whose connection still exists at Salt Edge stays (as Odoo's
/// FAQ explains) and the user is told how to remove it for good (an Enable Banking session, once ended,
/// holds nothing: its link goes). Links that are not there (or not the company's) are skipped, as Odoo's
/// unlink does; any other failure stops the unlink.
pub async fn before_unlink(app: &Arc<App>, company: i64, link_ids: &[i64]) -> Result<()> {
    let ids = link_ids.to_vec();
    let connected = app.db(move |conn, _| store::links::with_connection(conn, &ids, company)).await?;
    if connected.is_empty() {
        return Ok(());
    }
    let by_id: std::collections::HashMap<i64, &LinkRow> = connected.iter().map(|link| (link.id, link)).collect();
    let mut kept = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in link_ids.iter().filter(|id| seen.insert(**id)) {
        let Some(link) = by_id.get(id) else { continue };
        if link.state() != LinkState::Disconnected {
            revoke_consent(app, company, link.id).await?;
        }
        if Aggregator::of_link(app, link)?.keeps_connection_after_revoke() {
            kept.push(link.label());
        }
    }
    if kept.is_empty() {
        return Ok(());
    }
    Err(Error::user(format!(
        "The consent for {} has been revoked, but the connection still exists at the bank, so the record is kept. \
         Click \"Remove connection\" to delete the connection at the bank, then delete the record.",
        kept.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
    )))
}
