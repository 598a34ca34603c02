//! The sync engine's storage side: link state, account upserts, and transaction pages written so that a
//! rerun or a crash half-way never duplicates or loses a row (one database transaction per page, the
//! account's cursor moved in the same transaction, a unique key on the online identifier).

use diesel::prelude::*;

use crate::db::schema::{
    bridge_settings, companies, online_accounts, online_institutions, online_links, online_transactions,
    saltedge_customers, saltedge_return_states,
};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::sql::{Sql, SqlValue};
use crate::saltedge::{Account, Provider, Transaction};
use crate::sync::state::{db_time, AttemptKind, LinkState, TransactionStatus};
use crate::types::clean_text;
use crate::types::time::now_string;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = online_links)]
pub struct LinkRow {
    pub id: i64,
    pub name: Option<String>,
    pub provider_code: Option<String>,
    pub state: String,
    pub company_id: i64,
    pub client_id: Option<String>,
    pub connection_identifier: Option<String>,
    pub error_message: Option<String>,
    pub next_refresh_possible_at: Option<String>,
    pub auto_sync: bool,
    pub return_url: Option<String>,
    pub renewal_contact_email: Option<String>,
    pub renewal_contact_phone: Option<String>,
    pub write_date: Option<String>,
}

impl LinkRow {
    /// The stored state; a value outside the selection (written by hand in the database) reads as
    /// disconnected, which asks the user to connect again rather than acting on it.
    pub fn state(&self) -> LinkState {
        LinkState::parse(&self.state).unwrap_or(LinkState::Disconnected)
    }

    pub fn label(&self) -> String {
        self.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| format!("bank connection {}", self.id))
    }
}

/// A link of the given company (`None`: any company, for verified Salt Edge callbacks).
pub fn load_link(conn: &mut AnyConnection, id: i64, company: Option<i64>) -> Result<LinkRow> {
    let mut query = online_links::table.filter(online_links::id.eq(id)).select(LinkRow::as_select()).into_boxed();
    if let Some(company) = company {
        query = query.filter(online_links::company_id.eq(company));
    }
    query.first::<LinkRow>(conn).optional()?.ok_or_else(|| {
        Error::missing(format!("Record does not exist or has been deleted.\n(Record: account.online.link({id}))"))
    })
}

/// Any company's link by id, for verified callbacks and return states (which carry the company).
pub fn load_link_if_exists(conn: &mut AnyConnection, id: i64) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::id.eq(id))
        .select(LinkRow::as_select())
        .first::<LinkRow>(conn)
        .optional()?)
}

/// A link of the company, or `None` when there is none with this id in it.
pub fn find_link(conn: &mut AnyConnection, id: i64, company: i64) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::id.eq(id))
        .filter(online_links::company_id.eq(company))
        .select(LinkRow::as_select())
        .first::<LinkRow>(conn)
        .optional()?)
}

pub fn link_by_connection(conn: &mut AnyConnection, connection_id: &str) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::connection_identifier.eq(connection_id))
        .select(LinkRow::as_select())
        .order(online_links::id)
        .first::<LinkRow>(conn)
        .optional()?)
}

/// The company's other links holding a live connection to the same provider and customer.
pub fn other_live_links(
    conn: &mut AnyConnection,
    link: &LinkRow,
    provider_code: &str,
    customer_id: &str,
) -> Result<Vec<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::company_id.eq(link.company_id))
        .filter(online_links::id.ne(link.id))
        .filter(online_links::provider_code.eq(provider_code))
        .filter(online_links::client_id.eq(customer_id))
        .filter(online_links::connection_identifier.is_not_null())
        .select(LinkRow::as_select())
        .order(online_links::id)
        .load::<LinkRow>(conn)?)
}

/// Changes to a link; `None` leaves a column as it is, `Some(None)` clears it.
#[derive(Default, AsChangeset)]
#[diesel(table_name = online_links)]
pub struct LinkUpdate {
    pub name: Option<Option<String>>,
    pub institution_id: Option<Option<i64>>,
    pub provider_code: Option<Option<String>>,
    pub state: Option<String>,
    pub client_id: Option<Option<String>>,
    pub connection_identifier: Option<Option<String>>,
    pub error_message: Option<Option<String>>,
    pub last_refresh: Option<Option<String>>,
    pub next_refresh: Option<Option<String>>,
    pub next_refresh_possible_at: Option<Option<String>>,
    pub expiring_synchronization_date: Option<Option<String>>,
    pub renewal_contact_email: Option<Option<String>>,
    pub renewal_contact_phone: Option<Option<String>>,
    pub return_url: Option<Option<String>>,
    pub has_unlinked_accounts: Option<bool>,
    pub sync_claimed_by: Option<Option<String>>,
    pub sync_claimed_until: Option<Option<String>>,
    pub write_date: Option<Option<String>>,
    pub sync_progress: Option<Option<String>>,
}

impl LinkUpdate {
    /// The link moves to `state` with `message` for the user (`None` clears it).
    pub fn to_state(state: LinkState, message: Option<String>) -> LinkUpdate {
        LinkUpdate {
            state: Some(state.as_str().to_string()),
            error_message: Some(message),
            sync_progress: Some(match state {
                LinkState::Fetching => Some("Synchronization started.".to_string()),
                _ => None,
            }),
            ..Default::default()
        }
    }
}

/// Bank text as it may be stored (see `types::clean_text`): a NUL or a control character from a hostile or
/// broken bank string must neither fail every later fetch (PostgreSQL refuses NUL) nor make every later
/// XML-RPC answer unreadable.
fn clean(text: &str) -> String {
    clean_text(text).into_owned()
}

impl LinkUpdate {
    fn cleaned(mut self) -> LinkUpdate {
        self.name = self.name.map(|n| n.map(|n| clean(&n)));
        self.error_message = self.error_message.map(|m| m.map(|m| clean(&m)));
        self
    }
}

pub fn update_link(conn: &mut AnyConnection, id: i64, update: LinkUpdate) -> Result<()> {
    let mut update = update.cleaned();
    update.write_date = Some(Some(now_string()));
    diesel::update(online_links::table.filter(online_links::id.eq(id))).set(update).execute(conn)?;
    Ok(())
}

/// Ends a synchronization on the link, unless the user disconnected it meanwhile (revoke, remove): a
/// late result must not bring back a link the user has just cut off.
pub fn finish_link(conn: &mut AnyConnection, id: i64, update: LinkUpdate) -> Result<()> {
    let mut update = update.cleaned();
    update.write_date = Some(Some(now_string()));
    diesel::update(
        online_links::table
            .filter(online_links::id.eq(id))
            .filter(online_links::state.ne(LinkState::Disconnected.as_str())),
    )
    .set(update)
    .execute(conn)?;
    Ok(())
}

pub struct NewLink<'a> {
    pub company_id: i64,
    pub name: &'a str,
    pub institution_id: Option<i64>,
    pub provider_code: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
}

pub fn create_link(conn: &mut AnyConnection, link: NewLink<'_>) -> Result<i64> {
    let now = now_string();
    Ok(diesel::insert_into(online_links::table)
        .values((
            online_links::company_id.eq(link.company_id),
            online_links::name.eq(clean(link.name)),
            online_links::institution_id.eq(link.institution_id),
            online_links::provider_code.eq(link.provider_code),
            online_links::renewal_contact_email.eq(link.email),
            online_links::renewal_contact_phone.eq(link.phone),
            online_links::create_date.eq(&now),
            online_links::write_date.eq(&now),
        ))
        .returning(online_links::id)
        .get_result::<i64>(conn)?)
}

/// `(id, name)` of the institution with this provider code.
pub fn institution_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<(i64, String)>> {
    Ok(online_institutions::table
        .filter(online_institutions::code.eq(code))
        .select((online_institutions::id, online_institutions::name))
        .first(conn)
        .optional()?)
}

/// Inserts new providers and refreshes known ones; returns how many were new.
pub fn upsert_institutions(conn: &mut AnyConnection, providers: &[Provider]) -> Result<usize> {
    conn.transaction(|conn| {
        let mut added = 0;
        let now = now_string();
        for p in providers {
            let scopes = clean(&p.supported_fetch_scopes.join(","));
            let code = clean(&p.code);
            let known = online_institutions::table
                .filter(online_institutions::code.eq(&code))
                .select(online_institutions::id)
                .first::<i64>(conn)
                .optional()?;
            let name = if p.name.is_empty() { code.clone() } else { clean(&p.name) };
            let status = p.status.clone().filter(|s| matches!(s.as_str(), "active" | "inactive" | "disabled"));
            let mode = p.mode.clone().filter(|m| matches!(m.as_str(), "oauth" | "web" | "api" | "file"));
            let values = (
                online_institutions::name.eq(name),
                online_institutions::country_code.eq(clean(&p.country_code.to_uppercase())),
                online_institutions::status.eq(status),
                online_institutions::mode.eq(mode),
                online_institutions::max_consent_days.eq(p.max_consent_days.map(i64::from)),
                online_institutions::supported_fetch_scopes.eq(scopes),
                online_institutions::logo_url.eq(p.logo_url.as_deref().map(clean)),
                online_institutions::write_date.eq(now.clone()),
            );
            match known {
                Some(id) => {
                    diesel::update(online_institutions::table.filter(online_institutions::id.eq(id)))
                        .set(values)
                        .execute(conn)?;
                }
                None => {
                    diesel::insert_into(online_institutions::table)
                        .values((
                            online_institutions::code.eq(&p.code),
                            online_institutions::create_date.eq(now.clone()),
                            values,
                        ))
                        .execute(conn)?;
                    added += 1;
                }
            }
        }
        Ok(added)
    })
}

#[derive(Clone, Debug, Queryable)]
pub struct AccountRow {
    pub id: i64,
    pub online_identifier: Option<String>,
    pub last_transaction_identifier: Option<String>,
    pub inverse_transaction_sign: bool,
}

pub fn link_accounts(conn: &mut AnyConnection, link_id: i64) -> Result<Vec<AccountRow>> {
    Ok(online_accounts::table
        .filter(online_accounts::account_online_link_id.eq(link_id))
        .select((
            online_accounts::id,
            online_accounts::online_identifier,
            online_accounts::last_transaction_identifier,
            online_accounts::inverse_transaction_sign,
        ))
        .order(online_accounts::id)
        .load(conn)?)
}

/// Adds the accounts Salt Edge reports that the link does not have yet and refreshes the others'
/// balances; returns `(added, updated)`. Safe against a concurrent run (the unique key decides).
pub fn upsert_accounts(conn: &mut AnyConnection, link: &LinkRow, accounts: &[Account]) -> Result<(usize, usize)> {
    let now = now_string();
    let mut added = 0;
    let mut updated = 0;
    for account in accounts {
        let number = account.extra.iban.as_deref().or(account.extra.account_number.as_deref()).map(clean);
        let online_id = clean(&account.id);
        let currency = clean(&account.currency_code);
        let name = if account.name.is_empty() { format!("Account {online_id}") } else { clean(&account.name) };
        let existing = online_accounts::table
            .filter(online_accounts::account_online_link_id.eq(link.id))
            .filter(online_accounts::online_identifier.eq(&online_id))
            .select(online_accounts::id)
            .first::<i64>(conn)
            .optional()?;
        match existing {
            Some(id) => {
                diesel::update(online_accounts::table.filter(online_accounts::id.eq(id)))
                    .set((
                        online_accounts::balance.eq(account.balance),
                        online_accounts::currency_code.eq(&currency),
                        online_accounts::write_date.eq(&now),
                    ))
                    .execute(conn)?;
                updated += 1;
            }
            None => {
                let inserted = diesel::insert_into(online_accounts::table)
                    .values((
                        online_accounts::name.eq(&name),
                        online_accounts::account_number.eq(&number),
                        online_accounts::balance.eq(account.balance),
                        online_accounts::currency_code.eq(&currency),
                        online_accounts::online_identifier.eq(&online_id),
                        online_accounts::account_online_link_id.eq(link.id),
                        online_accounts::company_id.eq(link.company_id),
                        online_accounts::create_date.eq(&now),
                        online_accounts::write_date.eq(&now),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => added += 1,
                    // Another process (a callback, a second replica) inserted it first.
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let unlinked = online_accounts::table
        .filter(online_accounts::account_online_link_id.eq(link.id))
        .filter(online_accounts::journal_id.is_null().or(online_accounts::journal_id.eq(0)))
        .count()
        .get_result::<i64>(conn)?;
    update_link(conn, link.id, LinkUpdate { has_unlinked_accounts: Some(unlinked > 0), ..Default::default() })?;
    Ok((added, updated))
}

pub fn set_account_status(conn: &mut AnyConnection, account_id: i64, status: &str) -> Result<()> {
    diesel::update(online_accounts::table.filter(online_accounts::id.eq(account_id)))
        .set(online_accounts::fetching_status.eq(status))
        .execute(conn)?;
    Ok(())
}

/// A Salt Edge transaction's own `status`; anything else (missing, unknown) is neither and is skipped.
fn transaction_status(t: &Transaction) -> Option<TransactionStatus> {
    match t.status.as_str() {
        "posted" => Some(TransactionStatus::Posted),
        "pending" => Some(TransactionStatus::Pending),
        _ => None,
    }
}

/// The rows of a page to store with `status`: their own `status` must say so (a `pending=true` query is
/// not trusted alone), and rows Salt Edge flags `duplicated` (a repeat of one already delivered) are
/// never imported as new.
fn importable(rows: &[Transaction], status: TransactionStatus) -> Vec<Transaction> {
    rows.iter().filter(|t| transaction_status(t) == Some(status) && !t.duplicated).cloned().collect()
}

const COLUMNS: &str = "online_transaction_identifier, date, amount, currency_code, payment_ref, partner_name, \
                       account_number, status, online_account_id, raw_data, company_id, create_date";
/// Rows per INSERT statement: 12 parameters each, well under SQLite's and PostgreSQL's limits.
const ROWS_PER_STATEMENT: usize = 400;

fn payment_ref(t: &Transaction) -> String {
    let mut parts = vec![t.description.trim().to_string()];
    if let Some(info) = t.extra.information.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(info.trim().to_string());
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        "/".to_string()
    } else {
        parts.join(" — ")
    }
}

fn partner_name(t: &Transaction) -> Option<String> {
    let candidate = if t.amount < 0.0 { t.extra.payee.as_ref() } else { t.extra.payer.as_ref() };
    candidate.or(t.extra.payee.as_ref()).or(t.extra.payer.as_ref()).filter(|s| !s.is_empty()).cloned()
}

/// Inserts rows that are not there yet (`ON CONFLICT DO NOTHING`: both backends share the syntax);
/// returns how many were new.
fn insert_rows(
    conn: &mut AnyConnection,
    account: &AccountRow,
    company_id: i64,
    rows: &[Transaction],
    status: TransactionStatus,
) -> Result<usize> {
    let now = now_string();
    let mut inserted = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(conn.backend());
        sql.push(&format!("INSERT INTO online_transactions ({COLUMNS}) VALUES "));
        let mut first = true;
        for t in chunk {
            let Some(date) = t.made_on_date() else {
                tracing::warn!(transaction = %t.id, "skipping a transaction without a valid made_on date");
                continue;
            };
            if !first {
                sql.push(", ");
            }
            first = false;
            // Stored as the bank sent it; consumers apply `inverse_transaction_sign` (as Odoo does).
            let amount = t.amount;
            let raw = serde_json::to_string(t).map_err(|e| Error::internal("encoding a transaction", e))?;
            let text = |s: &str| SqlValue::Text(clean(s));
            let null_text = SqlValue::Null(crate::orm::sql::SqlKind::Text);
            let values = [
                text(&t.id),
                SqlValue::Text(date.format("%Y-%m-%d").to_string()),
                SqlValue::Float(amount),
                text(&t.currency_code),
                text(&payment_ref(t)),
                partner_name(t).map_or(null_text.clone(), |p| text(&p)),
                t.extra.account_number.as_deref().map_or(null_text, text),
                SqlValue::Text(status.as_str().to_string()),
                SqlValue::Int(account.id),
                text(&raw),
                SqlValue::Int(company_id),
                SqlValue::Text(now.clone()),
            ];
            sql.push("(");
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(v);
            }
            sql.push(")");
        }
        if first {
            continue;
        }
        sql.push(" ON CONFLICT (online_account_id, online_transaction_identifier) DO NOTHING");
        inserted += sql.execute(conn)?;
    }
    Ok(inserted)
}

/// How many posted transactions of the account are stored.
pub fn posted_count(conn: &mut AnyConnection, account_id: i64) -> Result<u64> {
    let count: i64 = online_transactions::table
        .filter(online_transactions::online_account_id.eq(account_id))
        .filter(online_transactions::status.eq("posted"))
        .count()
        .get_result(conn)?;
    Ok(count.max(0) as u64)
}

/// One page of posted transactions and the account's new cursor, atomically.
pub fn store_posted_page(
    conn: &mut AnyConnection,
    account: &AccountRow,
    company_id: i64,
    rows: &[Transaction],
    cursor: Option<&str>,
) -> Result<usize> {
    conn.transaction(|conn| {
        let posted = importable(rows, TransactionStatus::Posted);
        let inserted = insert_rows(conn, account, company_id, &posted, TransactionStatus::Posted)?;
        // A pending row replaced by its posted version disappears from the pending set next time; drop
        // any pending row with the same identifier now.
        if !posted.is_empty() {
            let ids: Vec<&str> = posted.iter().map(|t| t.id.as_str()).collect();
            diesel::delete(
                online_transactions::table
                    .filter(online_transactions::online_account_id.eq(account.id))
                    .filter(online_transactions::status.eq(TransactionStatus::Pending.as_str()))
                    .filter(online_transactions::online_transaction_identifier.eq_any(ids)),
            )
            .execute(conn)?;
        }
        if let Some(cursor) = cursor {
            diesel::update(online_accounts::table.filter(online_accounts::id.eq(account.id)))
                .set((
                    online_accounts::last_transaction_identifier.eq(cursor),
                    online_accounts::last_sync.eq(chrono::Utc::now().format("%Y-%m-%d").to_string()),
                ))
                .execute(conn)?;
        }
        Ok(inserted)
    })
}

/// Replaces the account's pending transactions with the current set, atomically. Only rows whose own
/// `status` says pending count (the `pending=true` query flag alone is not trusted).
pub fn replace_pending(
    conn: &mut AnyConnection,
    account: &AccountRow,
    company_id: i64,
    rows: &[Transaction],
) -> Result<usize> {
    conn.transaction(|conn| {
        diesel::delete(
            online_transactions::table
                .filter(online_transactions::online_account_id.eq(account.id))
                .filter(online_transactions::status.eq(TransactionStatus::Pending.as_str())),
        )
        .execute(conn)?;
        let pending = importable(rows, TransactionStatus::Pending);
        insert_rows(conn, account, company_id, &pending, TransactionStatus::Pending)
    })
}

/// Claims one `auto_sync` link due for a scheduled fetch, for `lease_secs`, so that several replicas
/// never fetch the same link at once. PostgreSQL skips rows another replica is claiming
/// (`FOR UPDATE SKIP LOCKED`); SQLite has a single writer, so the statement is atomic as it is.
pub fn claim_due_link(
    conn: &mut AnyConnection,
    worker: &str,
    lease_secs: i64,
    due_before: &str,
    stale_fetching_before: &str,
) -> Result<Option<i64>> {
    let now = now_string();
    let until = (chrono::Utc::now() + chrono::Duration::seconds(lease_secs))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE online_links SET sync_claimed_by = ");
    sql.bind(SqlValue::Text(worker.to_string()));
    sql.push(", sync_claimed_until = ");
    sql.bind(SqlValue::Text(until));
    sql.push(" WHERE id = (SELECT id FROM online_links WHERE auto_sync = ");
    sql.bind(SqlValue::Bool(true));
    // A link left `fetching` by a process that died is due again once its attempt is long over.
    sql.push(" AND (state = 'connected' OR (state = 'fetching' AND write_date < ");
    sql.bind(SqlValue::Text(stale_fetching_before.to_string()));
    sql.push(")) AND connection_identifier IS NOT NULL AND (sync_claimed_until IS NULL OR sync_claimed_until < ");
    sql.bind(SqlValue::Text(now.clone()));
    sql.push(") AND (last_refresh IS NULL OR last_refresh < ");
    sql.bind(SqlValue::Text(due_before.to_string()));
    sql.push(") ORDER BY last_refresh NULLS FIRST, id LIMIT 1");
    if conn.backend() == crate::db::Backend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") RETURNING id");
    Ok(sql.load_ids(conn)?.first().copied())
}

pub fn release_claim(conn: &mut AnyConnection, link_id: i64) -> Result<()> {
    diesel::update(online_links::table.filter(online_links::id.eq(link_id)))
        .set((online_links::sync_claimed_by.eq(None::<String>), online_links::sync_claimed_until.eq(None::<String>)))
        .execute(conn)?;
    Ok(())
}

/// Keeps a link claimed for `secs` more seconds (after a failed scheduled fetch: retried a cycle later).
pub fn hold_claim(conn: &mut AnyConnection, link_id: i64, secs: i64) -> Result<()> {
    let until =
        (chrono::Utc::now() + chrono::Duration::seconds(secs)).naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    diesel::update(online_links::table.filter(online_links::id.eq(link_id)))
        .set(online_links::sync_claimed_until.eq(Some(until)))
        .execute(conn)?;
    Ok(())
}

pub fn get_setting(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(bridge_settings::table
        .filter(bridge_settings::key.eq(key))
        .select(bridge_settings::value)
        .first(conn)
        .optional()?)
}

pub fn set_setting(conn: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    conn.transaction(|conn| {
        diesel::delete(bridge_settings::table.filter(bridge_settings::key.eq(key))).execute(conn)?;
        diesel::insert_into(bridge_settings::table)
            .values((bridge_settings::key.eq(key), bridge_settings::value.eq(value)))
            .execute(conn)?;
        Ok(())
    })
}

/// Stores a setting unless one is there already (a concurrent first writer wins).
pub fn insert_setting_if_absent(conn: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    let inserted = diesel::insert_into(bridge_settings::table)
        .values((bridge_settings::key.eq(key), bridge_settings::value.eq(value)))
        .execute(conn);
    match inserted {
        Ok(_) | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Every link id of a company, or all links (for `bankbridge sync`).
pub fn link_ids(conn: &mut AnyConnection, only_connected: bool) -> Result<Vec<i64>> {
    let mut query = online_links::table.select(online_links::id).order(online_links::id).into_boxed();
    if only_connected {
        query = query.filter(online_links::connection_identifier.is_not_null());
    }
    Ok(query.load(conn)?)
}

/// The company's own Salt Edge customer id, if the bridge created or found it before.
pub fn company_customer(conn: &mut AnyConnection, company_id: i64) -> Result<Option<String>> {
    Ok(saltedge_customers::table
        .filter(saltedge_customers::company_id.eq(company_id))
        .select(saltedge_customers::customer_id)
        .first(conn)
        .optional()?)
}

/// Records the company's customer; a concurrent first call that stored one already wins (returned).
pub fn save_company_customer(
    conn: &mut AnyConnection,
    company_id: i64,
    customer_id: &str,
    identifier: &str,
) -> Result<String> {
    let inserted = diesel::insert_into(saltedge_customers::table)
        .values((
            saltedge_customers::company_id.eq(company_id),
            saltedge_customers::customer_id.eq(customer_id),
            saltedge_customers::identifier.eq(identifier),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => return Ok(customer_id.to_string()),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
        Err(e) => return Err(e.into()),
    }
    company_customer(conn, company_id)?
        .ok_or_else(|| Error::application("The company's Salt Edge customer could not be recorded."))
}

pub fn company_name(conn: &mut AnyConnection, company_id: i64) -> Result<String> {
    Ok(companies::table.filter(companies::id.eq(company_id)).select(companies::name).first(conn)?)
}

/// Names of a link's accounts, for the result page.
pub fn account_names(conn: &mut AnyConnection, link_id: i64) -> Result<Vec<String>> {
    Ok(online_accounts::table
        .filter(online_accounts::account_online_link_id.eq(link_id))
        .select(online_accounts::name)
        .order(online_accounts::id)
        .load(conn)?)
}

/// One attempt's return URL `state`, as stored (the token itself is never stored, only its hash).
#[derive(Clone, Debug)]
pub struct ReturnState {
    pub link_id: i64,
    pub company_id: i64,
    pub kind: AttemptKind,
    pub return_to: Option<String>,
}

pub fn save_return_state(
    conn: &mut AnyConnection,
    state_hash: &str,
    state: &ReturnState,
    lifetime: chrono::Duration,
) -> Result<()> {
    let now = chrono::Utc::now();
    diesel::insert_into(saltedge_return_states::table)
        .values((
            saltedge_return_states::state_hash.eq(state_hash),
            saltedge_return_states::link_id.eq(state.link_id),
            saltedge_return_states::company_id.eq(state.company_id),
            saltedge_return_states::kind.eq(state.kind.as_str()),
            saltedge_return_states::return_to.eq(state.return_to.as_deref()),
            saltedge_return_states::created_at.eq(db_time(now)),
            saltedge_return_states::expires_at.eq(db_time(now + lifetime)),
        ))
        .execute(conn)?;
    // Expired states are of no use to anyone: drop them as new ones are issued.
    diesel::delete(saltedge_return_states::table.filter(saltedge_return_states::expires_at.lt(db_time(now))))
        .execute(conn)?;
    Ok(())
}

/// Uses a return `state` once: `None` when it is unknown, expired or already used. The update is the
/// claim, so two concurrent uses cannot both succeed.
pub fn use_return_state(conn: &mut AnyConnection, state_hash: &str) -> Result<Option<ReturnState>> {
    let now = db_time(chrono::Utc::now());
    let claimed = diesel::update(
        saltedge_return_states::table
            .filter(saltedge_return_states::state_hash.eq(state_hash))
            .filter(saltedge_return_states::used_at.is_null())
            .filter(saltedge_return_states::expires_at.gt(&now)),
    )
    .set(saltedge_return_states::used_at.eq(&now))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(None);
    }
    let (link_id, company_id, kind, return_to) = saltedge_return_states::table
        .filter(saltedge_return_states::state_hash.eq(state_hash))
        .select((
            saltedge_return_states::link_id,
            saltedge_return_states::company_id,
            saltedge_return_states::kind,
            saltedge_return_states::return_to,
        ))
        .first::<(i64, i64, String, Option<String>)>(conn)?;
    let kind = AttemptKind::parse(&kind)
        .ok_or_else(|| Error::application(format!("stored return state of unknown kind {kind:?}")))?;
    Ok(Some(ReturnState { link_id, company_id, kind, return_to }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, status: &str, duplicated: bool) -> Transaction {
        Transaction { id: id.into(), status: status.into(), duplicated, ..Default::default() }
    }

    #[test]
    fn only_rows_of_the_wanted_status_and_not_duplicated_are_imported() {
        let rows =
            [row("1", "posted", false), row("2", "pending", false), row("3", "posted", true), row("4", "", false)];
        let ids = |status| importable(&rows, status).into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(TransactionStatus::Posted), ["1"]);
        assert_eq!(ids(TransactionStatus::Pending), ["2"]);
    }
}
