//! The sync engine's storage side: link state, account upserts, and transaction pages written so that a
//! rerun or a crash half-way never duplicates or loses a row (one database transaction per page, the
//! account's cursor moved in the same transaction, a unique key on the online identifier).

use diesel::prelude::*;

use crate::db::schema::{bridge_settings, online_accounts, online_institutions, online_links, online_transactions};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::sql::{Sql, SqlValue};
use crate::saltedge::{Account, Provider, Transaction};
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
}

impl LinkRow {
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

pub fn link_by_connection(conn: &mut AnyConnection, connection_id: &str) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::connection_identifier.eq(connection_id))
        .select(LinkRow::as_select())
        .order(online_links::id)
        .first::<LinkRow>(conn)
        .optional()?)
}

/// Another link of the company already holding a live connection to the same provider and customer.
pub fn other_live_link(
    conn: &mut AnyConnection,
    link: &LinkRow,
    provider_code: &str,
    customer_id: &str,
) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::company_id.eq(link.company_id))
        .filter(online_links::id.ne(link.id))
        .filter(online_links::provider_code.eq(provider_code))
        .filter(online_links::client_id.eq(customer_id))
        .filter(online_links::connection_identifier.is_not_null())
        .select(LinkRow::as_select())
        .order(online_links::id)
        .first::<LinkRow>(conn)
        .optional()?)
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
}

pub fn update_link(conn: &mut AnyConnection, id: i64, mut update: LinkUpdate) -> Result<()> {
    update.write_date = Some(Some(now_string()));
    diesel::update(online_links::table.filter(online_links::id.eq(id))).set(update).execute(conn)?;
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
            online_links::name.eq(link.name),
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
            let scopes = p.supported_fetch_scopes.join(",");
            let known = online_institutions::table
                .filter(online_institutions::code.eq(&p.code))
                .select(online_institutions::id)
                .first::<i64>(conn)
                .optional()?;
            let name = if p.name.is_empty() { p.code.clone() } else { p.name.clone() };
            let status = p.status.clone().filter(|s| matches!(s.as_str(), "active" | "inactive" | "disabled"));
            let mode = p.mode.clone().filter(|m| matches!(m.as_str(), "oauth" | "web" | "api" | "file"));
            let values = (
                online_institutions::name.eq(name),
                online_institutions::country_code.eq(p.country_code.to_uppercase()),
                online_institutions::status.eq(status),
                online_institutions::mode.eq(mode),
                online_institutions::max_consent_days.eq(p.max_consent_days.map(i64::from)),
                online_institutions::supported_fetch_scopes.eq(scopes),
                online_institutions::logo_url.eq(p.logo_url.clone()),
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
        let number = account.extra.iban.clone().or_else(|| account.extra.account_number.clone());
        let name = if account.name.is_empty() { format!("Account {}", account.id) } else { account.name.clone() };
        let existing = online_accounts::table
            .filter(online_accounts::account_online_link_id.eq(link.id))
            .filter(online_accounts::online_identifier.eq(&account.id))
            .select(online_accounts::id)
            .first::<i64>(conn)
            .optional()?;
        match existing {
            Some(id) => {
                diesel::update(online_accounts::table.filter(online_accounts::id.eq(id)))
                    .set((
                        online_accounts::balance.eq(account.balance),
                        online_accounts::currency_code.eq(&account.currency_code),
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
                        online_accounts::currency_code.eq(&account.currency_code),
                        online_accounts::online_identifier.eq(&account.id),
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
    status: &str,
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
            let values = [
                SqlValue::Text(t.id.clone()),
                SqlValue::Text(date.format("%Y-%m-%d").to_string()),
                SqlValue::Float(amount),
                SqlValue::Text(t.currency_code.clone()),
                SqlValue::Text(payment_ref(t)),
                partner_name(t).map_or(SqlValue::Null(crate::orm::sql::SqlKind::Text), SqlValue::Text),
                t.extra.account_number.clone().map_or(SqlValue::Null(crate::orm::sql::SqlKind::Text), SqlValue::Text),
                SqlValue::Text(status.to_string()),
                SqlValue::Int(account.id),
                SqlValue::Text(raw),
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
        let posted: Vec<Transaction> = rows.iter().filter(|t| !t.is_pending()).cloned().collect();
        let inserted = insert_rows(conn, account, company_id, &posted, "posted")?;
        // A pending row replaced by its posted version disappears from the pending set next time; drop
        // any pending row with the same identifier now.
        if !posted.is_empty() {
            let ids: Vec<&str> = posted.iter().map(|t| t.id.as_str()).collect();
            diesel::delete(
                online_transactions::table
                    .filter(online_transactions::online_account_id.eq(account.id))
                    .filter(online_transactions::status.eq("pending"))
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

/// Replaces the account's pending transactions with the current set, atomically.
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
                .filter(online_transactions::status.eq("pending")),
        )
        .execute(conn)?;
        insert_rows(conn, account, company_id, rows, "pending")
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
    sql.push(" AND state = 'connected' AND connection_identifier IS NOT NULL AND (sync_claimed_until IS NULL OR sync_claimed_until < ");
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

/// Every link id of a company, or all links (for `bankbridge sync`).
pub fn link_ids(conn: &mut AnyConnection, only_connected: bool) -> Result<Vec<i64>> {
    let mut query = online_links::table.select(online_links::id).order(online_links::id).into_boxed();
    if only_connected {
        query = query.filter(online_links::connection_identifier.is_not_null());
    }
    Ok(query.load(conn)?)
}
