//! Enable Banking's side of the interface: its banks as institutions, an authorization at the bank as
//! the connect page, the browser's return (`code` → session → accounts), the session's accounts, ending
//! the session (revoke, remove), and its failures in the accountant's words. Fetching is `read`; the
//! mapping to storage, `records`.
//!
//! The return is as safe as Salt Edge's: the one-time `state` (issued here, echoed by Enable Banking) is
//! bound to the link and its company; from the URL only the `code` is taken (an `error` only says the
//! authorization did not complete); the session the code opens is checked against the link's bank and
//! its accounts go to that link alone, of the company that started it.

pub mod failures;
pub mod read;
pub mod records;

pub use failures::{fail_link, user_error};

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};

use crate::app::App;
use crate::bank::EnableBanking;
use crate::enablebanking::plan::Asker;
use crate::enablebanking::{Access, AspspId, EnableBankingError, SessionStatus, StartAuthorization};
use crate::error::{Error, Result};
use crate::sync::answer::{Answer, Level};
use crate::sync::failures::record_failure;
use crate::sync::fetch::run_fetch;
use crate::sync::fetch_start::FetchStart;
use crate::sync::follow::log_outcome;
use crate::sync::link_events::connected;
use crate::sync::link_events::record;
use crate::sync::return_url::{bind_return_state, issue_return_state};
use crate::sync::store::institutions::InstitutionRecord;
use crate::sync::store::{self, links::Change, LinkRow, LinkUpdate, ReturnState};
use crate::types::time::{date_string, human_time};
use crate::types::{Failure, LinkEvent, Origin};

/// Consent asked when the bank states no maximum.
const DEFAULT_CONSENT_DAYS: i64 = 90;
/// The longest consent PSD2 banks give.
const MAX_CONSENT_DAYS: i64 = 180;
/// Taken off the bank's maximum so that clocks that differ do not make the request too long.
const CONSENT_MARGIN: ChronoDuration = ChronoDuration::minutes(10);

pub async fn institutions(eb: &EnableBanking) -> Result<Vec<InstitutionRecord>> {
    let aspsps = eb.client.aspsps(None, None).await.map_err(|e| user_error(None, &e))?;
    Ok(aspsps.iter().map(records::institution).collect())
}

/// The bank of a link, as Enable Banking names it (from the link's institution).
async fn bank_of(app: &Arc<App>, link: &LinkRow) -> Result<AspspId> {
    let code = link.provider_code.clone().unwrap_or_default();
    let institution = app.db(move |conn, _| store::institutions::by_code(conn, &code)).await?;
    match institution {
        Some(i) => Ok(AspspId { name: i.name, country: i.country_code.unwrap_or_default() }),
        None => Err(Error::user(format!(
            "\"{}\" has no institution any more: remove it and add the bank again.",
            link.label()
        ))),
    }
}

/// "Connect" and "Update Credentials": a new authorization at the bank (`POST /auth`) for as long as the
/// bank allows; the bank's page sends the browser back to the bridge with the one-time `state`.
pub async fn connect_page(
    app: &Arc<App>,
    eb: &EnableBanking,
    link: &LinkRow,
    return_to: Option<String>,
) -> Result<Answer> {
    let bank = bank_of(app, link).await?;
    let listed = eb.client.aspsps(Some(&bank.country), None).await.map_err(|e| user_error(Some(link), &e))?;
    let aspsp = listed
        .into_iter()
        .find(|a| a.name == bank.name)
        .ok_or_else(|| Error::user(format!("Enable Banking no longer offers {} ({}).", bank.name, bank.country)))?;
    let psu_type = if aspsp.psu_types.contains(&eb.psu_type) || aspsp.psu_types.is_empty() {
        eb.psu_type
    } else {
        aspsp.psu_types[0]
    };
    let longest = ChronoDuration::seconds(
        aspsp.maximum_consent_validity.unwrap_or(DEFAULT_CONSENT_DAYS * 86_400).min(MAX_CONSENT_DAYS * 86_400),
    );
    let valid_until = Utc::now() + longest - CONSENT_MARGIN;
    let kind =
        if link.connection_identifier.is_some() { store::AttemptKind::Reconnect } else { store::AttemptKind::Connect };
    let state = ReturnState { link_id: link.id, company_id: link.company_id, kind, return_to, authorization_ref: None };
    let token = issue_return_state(app, state).await?;
    // A fresh identifier of this attempt: its hash comes back with the session the code opens, which ties
    // that session to this attempt (and so to this link and company) beyond the code itself.
    let psu_id = hex::encode(rand::random::<[u8; 16]>());
    let request = StartAuthorization {
        access: Access { valid_until: valid_until.to_rfc3339(), balances: Some(true), transactions: Some(true) },
        aspsp: bank,
        state: token.clone(),
        redirect_url: eb.redirect_url(),
        psu_type,
        language: None,
        psu_id: Some(psu_id),
    };
    let authorization = eb.client.start_authorization(&request).await.map_err(|e| user_error(Some(link), &e))?;
    let Some(reference) = authorization.psu_id_hash.as_deref().filter(|h| !h.is_empty()) else {
        return Err(Error::application("Enable Banking answered an authorization without its psu_id_hash."));
    };
    bind_return_state(app, &token, reference).await?;
    Ok(Answer::open_page(&authorization.url, link.id))
}

/// What the bank's redirect brought back, as far as the bridge reads it.
pub enum Returned<'a> {
    /// The authorization code (the only value taken from the URL).
    Code(&'a str),
    /// The bank or Enable Banking reported that the authorization did not complete.
    NotCompleted,
}

/// The browser came back with a valid `state`: exchanges the code for a session, attaches the session's
/// accounts to the state's link (of the state's company), ends the session it replaces, and starts the
/// first read in the background.
pub async fn finish_return(app: &Arc<App>, claim: &ReturnState, returned: Returned<'_>) -> Result<()> {
    let eb = Arc::clone(app.enablebanking()?);
    let (link_id, company) = (claim.link_id, claim.company_id);
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    if link.provider() != crate::types::Provider::EnableBanking {
        return Err(Error::access("This return address does not belong to an Enable Banking connection."));
    }
    let code = match returned {
        Returned::Code(code) => code,
        Returned::NotCompleted => {
            let message = "The authorization at the bank was not completed (cancelled or refused there). Click Update Credentials to try again.";
            return Err(
                record_failure(app, link_id, Failure::NeedsUser, message.to_string(), Error::user(message)).await
            );
        }
    };
    let session = match eb.client.authorize_session(code).await {
        Ok(session) => session,
        Err(e) => return Err(fail_link(app, &link, &e).await),
    };
    // The session must be the one this attempt started (its psu_id_hash), at this link's bank.
    let opened = match eb.client.session(&session.session_id).await {
        Ok(info) => info,
        Err(e) => return Err(fail_link(app, &link, &e).await),
    };
    if claim.authorization_ref.is_none() || opened.psu_id_hash != claim.authorization_ref {
        if let Err(e) = eb.client.delete_session(&session.session_id).await {
            tracing::warn!(link = link_id, error = %e, "could not end a session another attempt started");
        }
        let message = "The bank's answer belongs to another authorization than the one started for this connection: nothing was attached. Click Update Credentials to try again.";
        return Err(record_failure(app, link_id, Failure::Refused, message.to_string(), Error::user(message)).await);
    }
    let bank = bank_of(app, &link).await?;
    if session.aspsp != bank {
        // Not this link's bank: the session goes, nothing is attached.
        if let Err(e) = eb.client.delete_session(&session.session_id).await {
            tracing::warn!(link = link_id, error = %e, "could not end a session of another bank");
        }
        let message = format!(
            "The bank authorized ({}, {}) is not the bank of this connection. Click Update Credentials to try again.",
            session.aspsp.name, session.aspsp.country
        );
        return Err(record_failure(app, link_id, Failure::Refused, message.clone(), Error::user(message)).await);
    }
    let replaced = link.connection_identifier.clone().filter(|old| *old != session.session_id);
    let accounts: Vec<_> = session.accounts.iter().map(records::account).collect();
    let expiry = session.access.valid_until_utc().map(|at| date_string(at.date_naive()));
    let session_id = session.session_id.clone();
    let account_count = accounts.len();
    {
        let link = link.clone();
        app.db(move |conn, _| {
            crate::db::write_transaction(conn, |conn| {
                store::accounts::upsert(conn, &link, &accounts)?;
                // Accounts of the session it replaces are read no more.
                store::accounts::forget_session_ids_except(conn, link.id, &accounts)
            })
        })
        .await?;
    }
    let columns = LinkUpdate {
        connection_identifier: Some(Some(session_id)),
        expiring_synchronization_date: Some(expiry),
        ..Default::default()
    };
    record(app, link_id, Change::new(LinkEvent::AttemptStarted(Origin::User)).columns(columns)).await?;
    tracing::info!(link = link_id, accounts = account_count, "Enable Banking session authorized");
    if let Some(old) = replaced {
        if let Err(e) = eb.client.delete_session(&old).await {
            tracing::warn!(link = link_id, error = %e, "could not end the session the new one replaces");
        }
    }
    let link = app.db(move |conn, _| store::links::load(conn, link_id, Some(company))).await?;
    let app = Arc::clone(app);
    match read::start(&app, &eb, &link, Asker::User, Origin::User, false).await? {
        start @ FetchStart::Reading { .. } => {
            tokio::spawn(async move { log_outcome(link_id, run_fetch(&app, link_id, start, &()).await) });
        }
        // A read of the link already runs in this process: it records its own outcome.
        FetchStart::AlreadyRunning => {}
        // Connected; the bank's limit leaves no read now (a link authorized again the same day).
        _ => {
            record(&app, link_id, Change::new(LinkEvent::Succeeded)).await?;
        }
    }
    Ok(())
}

/// "Fetch Accounts": a session's accounts are fixed when the user authorizes it, so this reads the
/// session (no bank read) and says how to share other accounts.
pub async fn fetch_accounts(app: &Arc<App>, eb: &EnableBanking, link: &LinkRow) -> Result<Answer> {
    let session_id = connected(link)?;
    let session = match eb.client.session(&session_id).await {
        Ok(session) => session,
        Err(e) => return Err(fail_link(app, link, &e).await),
    };
    let ended = match session.status {
        SessionStatus::Authorized => None,
        SessionStatus::Expired => Some("EXPIRED_SESSION"),
        SessionStatus::Revoked => Some("REVOKED_SESSION"),
        SessionStatus::Closed => Some("CLOSED_SESSION"),
        _ => Some("WRONG_SESSION_STATUS"),
    };
    if let Some(code) = ended {
        let e = EnableBankingError::from_api(401, Some(code), &format!("The session is {:?}", session.status));
        return Err(fail_link(app, link, &e).await);
    }
    let link_id = link.id;
    let known = app.db(move |conn, _| store::accounts::of_link(conn, link_id)).await?;
    let readable =
        known.iter().filter(|a| a.session_account_id.as_ref().is_some_and(|uid| session.accounts.contains(uid)));
    let count = readable.count();
    let message = format!(
        "\"{}\" shares {count} account{} with the bridge. To share other accounts, click Update Credentials and choose them at the bank.",
        link.label(),
        if count == 1 { "" } else { "s" }
    );
    Ok(Answer::notice("Accounts up to date", message, Level::Info).with_counts(&[("accounts_added", 0)]))
}

/// Ends the session and with it the bank consent (Enable Banking closes it at the bank when it can).
pub async fn revoke(app: &Arc<App>, eb: &EnableBanking, link: &LinkRow) -> Result<String> {
    let session_id = connected(link)?;
    eb.client.delete_session(&session_id).await.map_err(|e| user_error(Some(link), &e))?;
    let link_id = link.id;
    app.db(move |conn, _| store::accounts::forget_session_ids_except(conn, link_id, &[])).await?;
    Ok(format!(
        "Consent revoked on {}: the Enable Banking session is ended and the bank shares no more data. Click Update Credentials to give consent again.",
        human_time(Utc::now())
    ))
}

/// Ends the session if it still runs (already ended counts as done).
pub async fn remove(eb: &EnableBanking, link: &LinkRow) -> Result<String> {
    if let Some(session_id) = &link.connection_identifier {
        eb.client.delete_session(session_id).await.map_err(|e| user_error(Some(link), &e))?;
    }
    Ok("The Enable Banking session is ended; this record can now be deleted.".to_string())
}
