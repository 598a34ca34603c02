//! The sync engine: the online-synchronization flows behind Odoo's buttons, mapped onto Salt Edge
//! (link = connect, update credentials = reconnect, fetch accounts = refresh + account diff, fetch
//! transactions = background refresh + keyset paging from the last stored id, revoke, remove), the
//! callback and return-URL handlers, and the `auto_sync` scheduler.

pub mod scheduler;
pub mod store;
pub mod web;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::saltedge::{self, ConnectOptions, ErrorKind as SeKind, SaltEdgeError};
use crate::types::time::now_string;
use crate::types::Value;
use store::{LinkRow, LinkUpdate};

/// Transactions asked per page (Salt Edge's maximum).
pub const PAGE_SIZE: u32 = 1000;

/// How the bridge reaches Salt Edge (or the sandbox) and how Salt Edge reaches it back.
pub struct Bank {
    pub client: saltedge::Client,
    /// Verifies callback signatures; `None` refuses every callback.
    pub callback_public_key: Option<String>,
    /// The bridge's own base URL as Salt Edge and browsers reach it (return URLs, callbacks).
    pub public_url: String,
    /// List and offer Salt Edge's fake providers (country XF).
    pub include_sandboxes: bool,
}

impl Bank {
    pub fn return_url(&self, link_id: i64) -> String {
        format!("{}/saltedge/return?link={link_id}", self.public_url.trim_end_matches('/'))
    }
    pub fn callback_url(&self, kind: &str) -> String {
        format!("{}/saltedge/callbacks/{kind}", self.public_url.trim_end_matches('/'))
    }
}

pub fn bank(app: &App) -> Result<&Bank> {
    app.bank::<Bank>().ok_or_else(|| {
        Error::user("Salt Edge is not configured on this bridge (start it with `bankbridge serve`, which runs the sandbox when no Salt Edge credentials are set).")
    })
}

/// Turns a Salt Edge failure into a message for the accountant.
pub fn user_error(link: Option<&LinkRow>, e: &SaltEdgeError) -> Error {
    let what = link.map_or_else(|| "the bank".to_string(), |l| format!("\"{}\"", l.label()));
    let class = e.class().map(|c| format!(" ({c})")).unwrap_or_default();
    match e.kind() {
        SeKind::RetryLater => Error::user(format!(
            "Salt Edge cannot serve {what} right now{class}: {} Please try again later.",
            e.message()
        )),
        SeKind::NeedsUser => Error::user(format!(
            "{what} needs your attention{class}: {} Click Update Credentials to fix it.",
            e.message()
        )),
        SeKind::NotFound => Error::user(format!(
            "Salt Edge no longer knows this connection{class}: {} Remove the connection and link the bank again.",
            e.message()
        )),
        SeKind::Duplicate => Error::user(format!("{}{class}", e.message())),
        SeKind::Config => Error::application(format!(
            "Salt Edge refused the bridge's credentials{class}: {} Check the bridge's Salt Edge configuration.",
            e.message()
        )),
        SeKind::Protocol => Error::application(format!("Unexpected answer from Salt Edge{class}: {}", e.message())),
        SeKind::Rejected => Error::user(format!("Salt Edge refused the request{class}: {}", e.message())),
    }
}

pub fn notification(title: &str, message: &str, kind: &str, counts: BTreeMap<String, Value>) -> Value {
    Value::map([
        ("type", Value::str("ir.actions.client")),
        ("tag", Value::str("display_notification")),
        (
            "params",
            Value::map([
                ("title", Value::str(title)),
                ("message", Value::str(message)),
                ("type", Value::str(kind)),
                ("sticky", Value::Bool(false)),
                ("counts", Value::Map(counts)),
            ]),
        ),
    ])
}

fn act_url(url: &str, link_id: i64) -> Value {
    Value::map([
        ("type", Value::str("ir.actions.act_url")),
        ("url", Value::str(url)),
        ("target", Value::str("self")),
        ("res_model", Value::str("account.online.link")),
        ("res_id", Value::Int(link_id)),
    ])
}

/// Fills `account.online.institution` from Salt Edge's provider list; returns how many were new.
pub async fn refresh_institutions(app: &Arc<App>) -> Result<usize> {
    let bank = bank(app)?;
    let providers = bank.client.list_providers(None, bank.include_sandboxes).await.map_err(|e| user_error(None, &e))?;
    app.db(move |conn, _| store::upsert_institutions(conn, &providers)).await
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

/// Only http(s) URLs may be used to send the browser back to Odoo.
fn checked_return_to(url: Option<&str>) -> Result<Option<String>> {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => match url::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(Some(parsed.to_string())),
            _ => Err(Error::user("return_to must be an http(s) URL.")),
        },
    }
}

pub struct NewSynchronization {
    pub link_ids: Vec<i64>,
    pub institution_code: String,
    pub email: String,
    pub phone: Option<String>,
    pub return_to: Option<String>,
}

/// "Add a Bank Account": reuses the given link (or creates one), creates/reuses the Salt Edge customer of
/// the email, and opens Salt Edge's connect page with a consent step.
pub async fn new_synchronization(app: &Arc<App>, company_id: i64, req: NewSynchronization) -> Result<Value> {
    let bank = bank(app)?;
    let code = req.institution_code.trim().to_string();
    if code.is_empty() {
        return Err(Error::user("Select the institution you want to synchronize."));
    }
    if !valid_email(&req.email) {
        return Err(Error::user(
            "Please give a valid email address: Salt Edge uses it to identify who gave the consent.",
        ));
    }
    if req.link_ids.len() > 1 {
        return Err(Error::user("Start a new synchronization on one bank connection at a time."));
    }
    let return_to = checked_return_to(req.return_to.as_deref())?;
    let lookup = code.clone();
    let mut institution = app.db(move |conn, _| store::institution_by_code(conn, &lookup)).await?;
    if institution.is_none() {
        refresh_institutions(app).await?;
        let lookup = code.clone();
        institution = app.db(move |conn, _| store::institution_by_code(conn, &lookup)).await?;
    }
    let (institution_id, institution_name) = institution.ok_or_else(|| {
        Error::user(format!("Unknown institution {code:?}: pick one from account.online.institution."))
    })?;

    let email = req.email.trim().to_lowercase();
    let customer = bank.client.get_or_create_customer(&email).await.map_err(|e| user_error(None, &e))?;
    let link_id = {
        let (email, phone, code, name, existing) =
            (email.clone(), req.phone.clone(), code.clone(), institution_name.clone(), req.link_ids.first().copied());
        let customer_id = customer.customer_id.clone();
        let return_to = return_to.clone();
        app.db(move |conn, _| {
            let id = match existing {
                Some(id) => {
                    let link = store::load_link(conn, id, Some(company_id))?;
                    if link.connection_identifier.is_some() {
                        return Err(Error::user(format!(
                            "\"{}\" is already connected to the bank: use Update Credentials instead.",
                            link.label()
                        )));
                    }
                    id
                }
                None => store::create_link(
                    conn,
                    store::NewLink {
                        company_id,
                        name: &name,
                        institution_id: Some(institution_id),
                        provider_code: &code,
                        email: &email,
                        phone: phone.as_deref(),
                    },
                )?,
            };
            store::update_link(
                conn,
                id,
                LinkUpdate {
                    name: Some(Some(name.clone())),
                    institution_id: Some(Some(institution_id)),
                    provider_code: Some(Some(code.clone())),
                    client_id: Some(Some(customer_id)),
                    renewal_contact_email: Some(Some(email.clone())),
                    renewal_contact_phone: Some(phone.clone()),
                    return_url: Some(return_to),
                    ..Default::default()
                },
            )?;
            Ok(id)
        })
        .await?
    };
    let mut options = ConnectOptions::new(bank.return_url(link_id));
    options.provider_code = Some(code);
    options.include_sandboxes = bank.include_sandboxes;
    options.custom_fields = Some(serde_json::json!({"link_id": link_id.to_string()}));
    let session = bank.client.connect_with(&customer.customer_id, &options).await.map_err(|e| user_error(None, &e))?;
    Ok(act_url(&session.connect_url, link_id))
}

async fn load_connected(app: &Arc<App>, link_id: i64, company: Option<i64>) -> Result<(LinkRow, String)> {
    let link = app.db(move |conn, _| store::load_link(conn, link_id, company)).await?;
    match link.connection_identifier.clone() {
        Some(connection) => Ok((link, connection)),
        None => Err(Error::user(match (&link.state[..], &link.error_message) {
            (_, Some(message)) if !message.is_empty() => message.clone(),
            _ => format!(
                "\"{}\" is not connected to a bank yet: click Connect (Add a Bank Account) first.",
                link.label()
            ),
        })),
    }
}

/// "Update Credentials": Salt Edge's reconnect page (credentials and consent renewal). A link whose first
/// connection was never completed (consent page abandoned or refused) gets the connect page again.
pub async fn update_credentials(app: &Arc<App>, company_id: i64, link_id: i64) -> Result<Value> {
    let bank = bank(app)?;
    let link = app.db(move |conn, _| store::load_link(conn, link_id, Some(company_id))).await?;
    if link.connection_identifier.is_none() {
        if let (Some(code), Some(email)) = (link.provider_code.clone(), link.renewal_contact_email.clone()) {
            let request = NewSynchronization {
                link_ids: vec![link_id],
                institution_code: code,
                email,
                phone: link.renewal_contact_phone.clone(),
                return_to: link.return_url.clone(),
            };
            return new_synchronization(app, company_id, request).await;
        }
    }
    let (link, connection) = load_connected(app, link_id, Some(company_id)).await?;
    let session =
        bank.client.reconnect(&connection, &bank.return_url(link_id)).await.map_err(|e| user_error(Some(&link), &e))?;
    Ok(act_url(&session.connect_url, link_id))
}

/// "Fetch Accounts": adds the accounts Salt Edge knows that the link lacks (never twice); when there are
/// none, opens Salt Edge's refresh page so the bank can report newly opened accounts.
pub async fn fetch_accounts(app: &Arc<App>, company_id: i64, link_id: i64) -> Result<Value> {
    let bank = bank(app)?;
    let (link, connection) = load_connected(app, link_id, Some(company_id)).await?;
    let (added, updated) = match sync_accounts(app, &link, &connection).await {
        Ok((added, updated, _)) => (added, updated),
        Err(e) => return Err(fail_link(app, &link, &e).await),
    };
    let mut counts = BTreeMap::new();
    counts.insert("accounts_added".to_string(), Value::Int(added as i64));
    counts.insert("accounts_updated".to_string(), Value::Int(updated as i64));
    if added > 0 {
        let message =
            format!("{added} new account{} added to \"{}\".", if added == 1 { "" } else { "s" }, link.label());
        return Ok(notification("New accounts", &message, "success", counts));
    }
    match bank.client.refresh(&connection, &bank.return_url(link_id)).await {
        Ok(session) => Ok(act_url(&session.connect_url, link_id)),
        Err(e) if e.kind() == SeKind::RetryLater => {
            let message = format!("No new account on \"{}\". {}", link.label(), e.message());
            Ok(notification("Accounts up to date", &message, "info", counts))
        }
        Err(e) => Err(fail_link(app, &link, &e).await),
    }
}

/// Stores the connection's accounts; returns `(added, updated, posted count per online account id)`
/// (an account without a reported count is absent from the map).
async fn sync_accounts(
    app: &Arc<App>,
    link: &LinkRow,
    connection: &str,
) -> std::result::Result<(usize, usize, HashMap<String, u64>), SaltEdgeError> {
    let accounts = bank(app)
        .map_err(|e| SaltEdgeError::new(SeKind::Config, e.message()))?
        .client
        .list_accounts(connection)
        .await?;
    let counts =
        accounts.iter().filter_map(|a| a.extra.transactions_count.as_ref().map(|c| (a.id.clone(), c.posted))).collect();
    let link = link.clone();
    let (added, updated) = app
        .db(move |conn, _| store::upsert_accounts(conn, &link, &accounts))
        .await
        .map_err(|e| SaltEdgeError::new(SeKind::Protocol, e.message()))?;
    Ok((added, updated, counts))
}

/// Posted rows still to fetch for these accounts (the bank's count minus the stored rows), when the
/// bank reports a count for each of them.
async fn expected_rows(
    app: &Arc<App>,
    accounts: &[store::AccountRow],
    bank_counts: &HashMap<String, u64>,
) -> Result<Option<u64>> {
    let mut expected = 0;
    for account in accounts {
        let Some(online_id) = &account.online_identifier else { continue };
        let Some(&at_bank) = bank_counts.get(online_id) else { return Ok(None) };
        let account_id = account.id;
        let stored = app.db(move |conn, _| store::posted_count(conn, account_id)).await?;
        expected += at_bank.saturating_sub(stored);
    }
    Ok(Some(expected))
}

/// Records a Salt Edge failure on the link (state and message) and returns the user-facing error.
pub async fn fail_link(app: &Arc<App>, link: &LinkRow, e: &SaltEdgeError) -> Error {
    let error = user_error(Some(link), e);
    if matches!(e.kind(), SeKind::NeedsUser | SeKind::NotFound) {
        let message = error.message().to_string();
        let id = link.id;
        let _ = app
            .db(move |conn, _| {
                store::update_link(
                    conn,
                    id,
                    LinkUpdate {
                        state: Some("error".into()),
                        error_message: Some(Some(message)),
                        ..Default::default()
                    },
                )
            })
            .await;
    }
    error
}

/// What one fetch of transactions did.
#[derive(Clone, Debug, Default)]
pub struct SyncSummary {
    pub accounts: usize,
    pub posted_added: usize,
    pub pending: usize,
    pub pages: usize,
}

/// Progress of a fetch, for the CLI's progress bar.
pub trait Progress: Send + Sync {
    /// Posted rows this fetch of a link should bring, when Salt Edge reports every account's count.
    fn expect(&self, _rows: u64) {}
    fn page(&self, _account: i64, _rows: usize) {}
}
impl Progress for () {}

/// "Fetch Transactions": a background refresh when Salt Edge allows one, then every account's new
/// transactions page by page from its cursor (each page committed with the cursor), then the current
/// pending set. Rerunning it, or running it concurrently, never duplicates a row.
pub async fn fetch_transactions(
    app: &Arc<App>,
    company: Option<i64>,
    link_id: i64,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    let bank = bank(app)?;
    let (link, connection) = load_connected(app, link_id, company).await?;
    if link.state == "error" {
        if let Some(message) = link.error_message.clone().filter(|m| !m.is_empty()) {
            // Check whether the user fixed it meanwhile (e.g. renewed the consent on Salt Edge's page).
            match bank.client.get_connection(&connection).await {
                Ok(c) if c.is_active() => {}
                _ => return Err(Error::user(message)),
            }
        }
    }
    let refresh_allowed = link.next_refresh_possible_at.as_deref().is_none_or(|at| at <= now_string().as_str());
    let mut next_possible = None;
    if refresh_allowed {
        match bank.client.background_refresh(&connection).await {
            Ok(refresh) => next_possible = refresh.next_refresh_possible_at,
            Err(e) if e.kind() == SeKind::RetryLater => {
                tracing::info!(link = link_id, class = ?e.class(), "background refresh not possible now");
            }
            Err(e) => return Err(fail_link(app, &link, &e).await),
        }
    }
    let bank_counts = match sync_accounts(app, &link, &connection).await {
        Ok((_, _, counts)) => counts,
        Err(e) => return Err(fail_link(app, &link, &e).await),
    };
    let accounts = app.db(move |conn, _| store::link_accounts(conn, link_id)).await?;
    if let Some(expected) = expected_rows(app, &accounts, &bank_counts).await? {
        progress.expect(expected);
    }
    let mut summary = SyncSummary { accounts: accounts.len(), ..Default::default() };
    for account in accounts {
        let Some(online_id) = account.online_identifier.clone() else { continue };
        let account_id = account.id;
        app.db(move |conn, _| store::set_account_status(conn, account_id, "processing")).await?;
        let mut cursor = account.last_transaction_identifier.clone();
        let fetch = |from: Option<String>| {
            let (client, connection, online_id) = (&bank.client, connection.clone(), online_id.clone());
            async move { client.transactions_page(&connection, &online_id, from.as_deref(), false, PAGE_SIZE).await }
        };
        let mut fetched = Some(fetch(cursor.clone()).await);
        while let Some(result) = fetched.take() {
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    let _ = app.db(move |conn, _| store::set_account_status(conn, account_id, "planned")).await;
                    return Err(fail_link(app, &link, &e).await);
                }
            };
            // The next page starts at `next_id`; at the end, resume from the last row seen (the
            // unique key absorbs that one repeated row).
            let next = page.next_id.clone().filter(|n| Some(n) != cursor.as_ref());
            let resume = page.next_id.clone().or_else(|| page.data.last().map(|t| t.id.clone())).or(cursor.clone());
            let rows = page.data;
            let (acc, company_id) = (account.clone(), link.company_id);
            let count = rows.len();
            let store =
                app.db(move |conn, _| store::store_posted_page(conn, &acc, company_id, &rows, resume.as_deref()));
            // Fetch the next page while this one is being stored: at most two pages in memory.
            let inserted = match next.clone() {
                Some(from) => {
                    let (stored, next_page) = tokio::join!(store, fetch(Some(from)));
                    fetched = Some(next_page);
                    stored?
                }
                None => store.await?,
            };
            summary.posted_added += inserted;
            summary.pages += 1;
            progress.page(account_id, count);
            if next.is_some() {
                cursor = next;
            }
        }
        let pending = match bank.client.transactions_page(&connection, &online_id, None, true, PAGE_SIZE).await {
            Ok(page) => page.data,
            Err(e) => return Err(fail_link(app, &link, &e).await),
        };
        let (acc, company_id) = (account.clone(), link.company_id);
        summary.pending += app.db(move |conn, _| store::replace_pending(conn, &acc, company_id, &pending)).await?;
        app.db(move |conn, _| store::set_account_status(conn, account_id, "done")).await?;
    }
    let now = now_string();
    let next_refresh = next_possible
        .as_deref()
        .and_then(saltedge::parse_datetime)
        .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string());
    app.db(move |conn, _| {
        store::update_link(
            conn,
            link_id,
            LinkUpdate {
                state: Some("connected".into()),
                error_message: Some(None),
                last_refresh: Some(Some(now)),
                next_refresh: next_refresh.clone().map(Some),
                next_refresh_possible_at: next_refresh.map(Some),
                ..Default::default()
            },
        )
    })
    .await?;
    Ok(summary)
}

/// "Revoke consent": the bank stops sharing data; the connection stays at Salt Edge until removed.
pub async fn revoke_consent(app: &Arc<App>, company: i64, link_id: i64) -> Result<LinkRow> {
    let bank = bank(app)?;
    let (link, connection) = load_connected(app, link_id, Some(company)).await?;
    let consents = match bank.client.list_consents(&connection).await {
        Ok(c) => c,
        Err(e) if e.kind() == SeKind::NotFound => Vec::new(),
        Err(e) => return Err(user_error(Some(&link), &e)),
    };
    for consent in consents.iter().filter(|c| !c.is_revoked()) {
        match bank.client.revoke_consent(&connection, &consent.id).await {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), SeKind::NotFound | SeKind::NeedsUser) => {}
            Err(e) => return Err(user_error(Some(&link), &e)),
        }
    }
    let message = format!(
        "Consent revoked on {} UTC. The connection still exists at Salt Edge: click Update Credentials to give consent again, or Remove connection to delete it.",
        now_string()
    );
    app.db(move |conn, _| {
        store::update_link(
            conn,
            link_id,
            LinkUpdate { state: Some("disconnected".into()), error_message: Some(Some(message)), ..Default::default() },
        )
    })
    .await?;
    Ok(link)
}

/// "Remove connection": deletes the connection at Salt Edge (a connection already gone counts as done),
/// after which the record itself may be deleted.
pub async fn remove_connection(app: &Arc<App>, company: i64, link_id: i64) -> Result<LinkRow> {
    let bank = bank(app)?;
    let link = app.db(move |conn, _| store::load_link(conn, link_id, Some(company))).await?;
    if let Some(connection) = &link.connection_identifier {
        bank.client.remove_connection(connection).await.map_err(|e| user_error(Some(&link), &e))?;
    }
    app.db(move |conn, _| {
        store::update_link(
            conn,
            link_id,
            LinkUpdate {
                state: Some("disconnected".into()),
                connection_identifier: Some(None),
                error_message: Some(Some(
                    "The connection was removed at Salt Edge; this record can now be deleted.".into(),
                )),
                ..Default::default()
            },
        )
    })
    .await?;
    Ok(link)
}

/// `unlink` of links: revoke first; a link whose connection still exists at Salt Edge stays (as Odoo's
/// FAQ explains) and the user is told how to remove it for good.
pub async fn before_unlink(app: &Arc<App>, company: i64, link_ids: &[i64]) -> Result<()> {
    let mut kept = Vec::new();
    for &id in link_ids {
        let link = match app.db(move |conn, _| store::load_link(conn, id, Some(company))).await {
            Ok(link) => link,
            Err(_) => continue, // gone or invisible: unlink ignores it, as Odoo does
        };
        if link.connection_identifier.is_some() {
            if link.state != "disconnected" {
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

/// Applies a successful connect/reconnect/refresh reported by Salt Edge: the connection's state, consent
/// expiry and accounts. The connection must belong to the link's Salt Edge customer, which guards the
/// unsigned return URL against a forged `connection_id`.
pub async fn apply_connection(app: &Arc<App>, link: &LinkRow, connection_id: &str) -> Result<()> {
    let bank = bank(app)?;
    let connection = bank.client.get_connection(connection_id).await.map_err(|e| user_error(Some(link), &e))?;
    if connection.customer_id.as_deref() != link.client_id.as_deref() {
        return Err(Error::access("This connection does not belong to this bank link."));
    }
    let consents = bank.client.list_consents(connection_id).await.unwrap_or_default();
    let expiry = consents
        .iter()
        .filter(|c| !c.is_revoked())
        .filter_map(|c| c.expires_at_utc())
        .max()
        .map(|d| d.format("%Y-%m-%d").to_string());
    let next_possible =
        connection.next_refresh_possible_at_utc().map(|d| d.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string());
    let (state, error_message) = if connection.is_active() {
        ("connected".to_string(), None)
    } else {
        let class = connection.fail_error_class().unwrap_or("inactive").to_string();
        let message = connection.last_attempt.as_ref().and_then(|a| a.fail_message.clone()).unwrap_or_default();
        (
            "error".to_string(),
            Some(format!("The bank connection is {class}: {message} Click Update Credentials to fix it.")),
        )
    };
    let (id, connection_id_owned, provider_name) = (link.id, connection.id.clone(), connection.provider_name.clone());
    let keep_name = link.name.clone().filter(|n| !n.is_empty());
    app.db(move |conn, _| {
        store::update_link(
            conn,
            id,
            LinkUpdate {
                state: Some(state),
                connection_identifier: Some(Some(connection_id_owned)),
                error_message: Some(error_message),
                last_refresh: Some(Some(now_string())),
                next_refresh: Some(next_possible.clone()),
                next_refresh_possible_at: Some(next_possible),
                expiring_synchronization_date: Some(expiry),
                name: Some(keep_name.or(Some(provider_name))),
                ..Default::default()
            },
        )
    })
    .await?;
    if connection.is_active() {
        let mut refreshed = link.clone();
        refreshed.connection_identifier = Some(connection.id.clone());
        sync_accounts(app, &refreshed, &connection.id).await.map_err(|e| user_error(Some(link), &e))?;
    }
    Ok(())
}

/// Applies a failed attempt (fail callback or error on the return URL).
pub async fn apply_failure(app: &Arc<App>, link: &LinkRow, class: &str, message: &str) -> Result<()> {
    let link_for_db = link.clone();
    let class = class.to_string();
    let message = message.to_string();
    app.db(move |conn, _| {
        let text = if class.contains("Duplicat") {
            let existing = match (&link_for_db.provider_code, &link_for_db.client_id) {
                (Some(provider), Some(customer)) => store::other_live_link(conn, &link_for_db, provider, customer)?,
                _ => None,
            };
            match existing {
                Some(other) => format!(
                    "You have already synchronized this bank account in \"{}\" (account.online.link {}). Open it and click Update Credentials instead of adding it again.",
                    other.label(),
                    other.id
                ),
                None => "You have already synchronized this bank account. Open the existing bank connection and click Update Credentials instead of adding it again.".to_string(),
            }
        } else if class.is_empty() {
            message.clone()
        } else {
            format!("The bank refused the connection ({class}): {message}")
        };
        store::update_link(
            conn,
            link_for_db.id,
            LinkUpdate { state: Some("error".into()), error_message: Some(Some(text)), ..Default::default() },
        )
    })
    .await
}
