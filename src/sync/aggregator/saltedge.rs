//! Salt Edge's side of the interface: its providers as institutions, its connect and reconnect widget,
//! Fetch Accounts (the accounts, else the refresh widget), revoking the consents and removing the
//! connection. Its attempts are followed by `sync::follow` and imported by `sync::import`.

use std::sync::Arc;

use crate::app::App;
use crate::bank::Bank;
use crate::error::Result;
use crate::saltedge::{ConnectOptions, ErrorKind as SeKind};
use crate::sync::answer::{Answer, Level};
use crate::sync::customers::company_customer;
use crate::sync::failures::{fail_link, user_error};
use crate::sync::import::{self, ImportError};
use crate::sync::return_url::issue_return_state;
use crate::sync::saltedge_records;
use crate::sync::store::institutions::InstitutionRecord;
use crate::sync::store::{self, AttemptKind, LinkRow, LinkUpdate, ReturnState};
use crate::types::time::human_time;

pub async fn institutions(bank: &Bank) -> Result<Vec<InstitutionRecord>> {
    let providers = bank.client.list_providers(None, bank.include_sandboxes).await.map_err(|e| user_error(None, &e))?;
    Ok(providers.iter().map(saltedge_records::institution).collect())
}

/// The return URL of a new attempt on `link`: a fresh one-time `state` bound to the link and attempt.
async fn attempt_return_url(
    app: &Arc<App>,
    bank: &Bank,
    link: &LinkRow,
    kind: AttemptKind,
    return_to: Option<String>,
) -> Result<String> {
    let state = ReturnState { link_id: link.id, company_id: link.company_id, kind, return_to, authorization_ref: None };
    let token = issue_return_state(app, state).await?;
    Ok(bank.return_url(&token))
}

/// Salt Edge's connect page under the company's own customer (a first connection), or its reconnect page
/// for the link's connection (credentials and consent renewal).
pub async fn connect_page(
    app: &Arc<App>,
    bank: &Bank,
    link: &LinkRow,
    kind: AttemptKind,
    return_to: Option<String>,
) -> Result<Answer> {
    if let (AttemptKind::Reconnect, Some(connection)) = (kind, &link.connection_identifier) {
        let url = attempt_return_url(app, bank, link, AttemptKind::Reconnect, return_to).await?;
        let session = bank.client.reconnect(connection, &url).await.map_err(|e| user_error(Some(link), &e))?;
        return Ok(Answer::open_page(&session.connect_url, link.id));
    }
    let customer_id = company_customer(app, link.company_id).await?;
    {
        let (link_id, customer_id) = (link.id, customer_id.clone());
        let columns = LinkUpdate { client_id: Some(Some(customer_id)), ..Default::default() };
        app.db(move |conn, _| store::links::update(conn, link_id, columns)).await?;
    }
    let mut options = ConnectOptions::new(attempt_return_url(app, bank, link, AttemptKind::Connect, return_to).await?);
    options.provider_code = link.provider_code.clone();
    options.include_sandboxes = bank.include_sandboxes;
    // Salt Edge echoes custom fields back; the company's name lets a connect page say who asks (the
    // built-in sandbox shows it, as Salt Edge's widget shows the client's name).
    let company_id = link.company_id;
    let company_name = app.db(move |conn, _| store::companies::name(conn, company_id)).await?;
    options.custom_fields = Some(serde_json::json!({"link_id": link.id.to_string(), "company_name": company_name}));
    let session = bank.client.connect_with(&customer_id, &options).await.map_err(|e| user_error(None, &e))?;
    Ok(Answer::open_page(&session.connect_url, link.id))
}

/// Adds the accounts Salt Edge knows that the link lacks (never twice); when there are none, opens Salt
/// Edge's refresh page so the bank can report newly opened accounts.
pub async fn fetch_accounts(app: &Arc<App>, bank: &Bank, link: &LinkRow) -> Result<Answer> {
    let connection = crate::sync::link_events::connected(link)?;
    let (added, updated, _) = match import::sync_accounts(app, link, &connection).await {
        Ok(counts) => counts,
        Err(ImportError::SaltEdge(e)) => return Err(fail_link(app, link, &e).await),
        Err(ImportError::Bridge(e)) => return Err(e),
        // Accounts alone renew no lease.
        Err(ImportError::Superseded) => return Err(crate::sync::link_events::superseded(app, link.id).await),
    };
    let counts = [("accounts_added", added), ("accounts_updated", updated)];
    if added > 0 {
        let message =
            format!("{added} new account{} added to \"{}\".", if added == 1 { "" } else { "s" }, link.label());
        return Ok(Answer::notice("New accounts", message, Level::Success).with_counts(&counts));
    }
    let url = attempt_return_url(app, bank, link, AttemptKind::Refresh, link.return_url.clone()).await?;
    match bank.client.refresh(&connection, &url).await {
        Ok(session) => Ok(Answer::open_page(&session.connect_url, link.id)),
        Err(e) if e.kind() == SeKind::RetryLater => {
            let message = format!("No new account on \"{}\". {}", link.label(), e.message());
            Ok(Answer::notice("Accounts up to date", message, Level::Info).with_counts(&counts))
        }
        Err(e) => Err(fail_link(app, link, &e).await),
    }
}

/// The bank stops sharing data; the connection stays at Salt Edge until removed.
pub async fn revoke(bank: &Bank, link: &LinkRow) -> Result<String> {
    let connection = crate::sync::link_events::connected(link)?;
    let consents = match bank.client.list_consents(&connection).await {
        Ok(c) => c,
        // The connection is gone at Salt Edge: no consent left to revoke.
        Err(e) if e.class() == Some("ConnectionNotFound") => Vec::new(),
        Err(e) => return Err(user_error(Some(link), &e)),
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
            Err(e) => return Err(user_error(Some(link), &e)),
        }
    }
    Ok(format!(
        "Consent revoked on {}. The connection still exists at Salt Edge: click Update Credentials to give consent again, or Remove connection to delete it.",
        human_time(chrono::Utc::now())
    ))
}

/// Deletes the connection at Salt Edge (only `ConnectionNotFound` counts as already done).
pub async fn remove(bank: &Bank, link: &LinkRow) -> Result<String> {
    if let Some(connection) = &link.connection_identifier {
        bank.client.remove_connection(connection).await.map_err(|e| user_error(Some(link), &e))?;
    }
    Ok("The connection was removed at Salt Edge; this record can now be deleted.".to_string())
}
