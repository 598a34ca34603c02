//! `online_transactions`: pages of transactions written so that a rerun or a crash half-way never
//! duplicates or loses a row (one database transaction per page, the account's cursor moved in the same
//! transaction, a unique key on the online identifier).

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{accounts, stored_text, AccountRow};
use crate::db::schema::online_transactions;
use crate::db::AnyConnection;
use crate::error::Result;
use crate::orm::sql::{Sql, SqlKind, SqlValue};
use crate::types::time::{date_string, now_string};
use crate::types::TransactionStatus;

/// A transaction as an aggregator reports it, in this table's terms (each aggregator decides which of its
/// rows are posted and which pending, and how they read).
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionRecord {
    /// Unique within the account and stable across fetches.
    pub identifier: String,
    pub date: NaiveDate,
    /// Signed as the bank sent it; consumers apply `inverse_transaction_sign` (as Odoo does).
    pub amount: f64,
    pub currency_code: String,
    pub payment_ref: String,
    pub partner_name: Option<String>,
    pub account_number: Option<String>,
    /// The aggregator's row as JSON.
    pub raw_data: String,
}

const COLUMNS: &str = "online_transaction_identifier, date, amount, currency_code, payment_ref, partner_name, \
                       account_number, status, online_account_id, raw_data, company_id, create_date";
/// Rows per INSERT statement: 12 parameters each, well under SQLite's and PostgreSQL's limits.
const ROWS_PER_STATEMENT: usize = 400;

/// Inserts rows that are not there yet (`ON CONFLICT DO NOTHING`: both backends share the syntax);
/// returns how many were new.
fn insert_rows(
    conn: &mut AnyConnection,
    account: &AccountRow,
    company_id: i64,
    rows: &[TransactionRecord],
    status: TransactionStatus,
) -> Result<usize> {
    let now = now_string();
    let mut inserted = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(conn.backend());
        sql.push(&format!("INSERT INTO online_transactions ({COLUMNS}) VALUES "));
        for (n, t) in chunk.iter().enumerate() {
            if n > 0 {
                sql.push(", ");
            }
            let text = |s: &str| SqlValue::Text(stored_text(s));
            let null_text = SqlValue::Null(SqlKind::Text);
            let values = [
                text(&t.identifier),
                SqlValue::Text(date_string(t.date)),
                SqlValue::Float(t.amount),
                text(&t.currency_code),
                text(&t.payment_ref),
                t.partner_name.as_deref().map_or(null_text.clone(), text),
                t.account_number.as_deref().map_or(null_text, text),
                SqlValue::Text(status.as_str().to_string()),
                SqlValue::Int(account.id),
                text(&t.raw_data),
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
        sql.push(" ON CONFLICT (online_account_id, online_transaction_identifier) DO NOTHING");
        inserted += sql.execute(conn)?;
    }
    Ok(inserted)
}

/// How many posted transactions of the account are stored.
pub fn posted_count(conn: &mut AnyConnection, account_id: i64) -> Result<u64> {
    let count: i64 = online_transactions::table
        .filter(online_transactions::online_account_id.eq(account_id))
        .filter(online_transactions::status.eq(TransactionStatus::Posted.as_str()))
        .count()
        .get_result(conn)?;
    Ok(count.max(0) as u64)
}

/// The date of the account's newest stored posted transaction.
pub fn latest_posted_date(conn: &mut AnyConnection, account_id: i64) -> Result<Option<NaiveDate>> {
    let latest: Option<String> = online_transactions::table
        .filter(online_transactions::online_account_id.eq(account_id))
        .filter(online_transactions::status.eq(TransactionStatus::Posted.as_str()))
        .select(diesel::dsl::max(online_transactions::date))
        .first(conn)?;
    Ok(latest.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// One page of posted transactions and the account's new cursor, atomically.
pub fn store_posted_page(
    conn: &mut AnyConnection,
    account: &AccountRow,
    company_id: i64,
    posted: &[TransactionRecord],
    cursor: Option<&str>,
) -> Result<usize> {
    conn.transaction(|conn| {
        let inserted = insert_rows(conn, account, company_id, posted, TransactionStatus::Posted)?;
        // A pending row replaced by its posted version disappears from the pending set next time; drop
        // any pending row with the same identifier now.
        if !posted.is_empty() {
            let ids: Vec<String> = posted.iter().map(|t| stored_text(&t.identifier)).collect();
            diesel::delete(
                online_transactions::table
                    .filter(online_transactions::online_account_id.eq(account.id))
                    .filter(online_transactions::status.eq(TransactionStatus::Pending.as_str()))
                    .filter(online_transactions::online_transaction_identifier.eq_any(ids)),
            )
            .execute(conn)?;
        }
        if let Some(cursor) = cursor {
            accounts::move_cursor(conn, account.id, cursor)?;
        }
        Ok(inserted)
    })
}

/// Replaces the account's pending transactions with the current set, atomically.
pub fn replace_pending(
    conn: &mut AnyConnection,
    account: &AccountRow,
    company_id: i64,
    pending: &[TransactionRecord],
) -> Result<usize> {
    conn.transaction(|conn| {
        diesel::delete(
            online_transactions::table
                .filter(online_transactions::online_account_id.eq(account.id))
                .filter(online_transactions::status.eq(TransactionStatus::Pending.as_str())),
        )
        .execute(conn)?;
        insert_rows(conn, account, company_id, pending, TransactionStatus::Pending)
    })
}
