//! `online_transactions`: pages of transactions written so that a rerun or a crash half-way never
//! duplicates or loses a row (one database transaction per page, the account's cursor moved in the same
//! transaction, a unique key on the online identifier).

use diesel::prelude::*;

use super::{accounts, stored_text, AccountRow};
use crate::db::schema::online_transactions;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::sql::{Sql, SqlKind, SqlValue};
use crate::saltedge::Transaction;
use crate::types::time::{date_string, now_string};
use crate::types::TransactionStatus;

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
            let text = |s: &str| SqlValue::Text(stored_text(s));
            let null_text = SqlValue::Null(SqlKind::Text);
            let values = [
                text(&t.id),
                SqlValue::Text(date_string(date)),
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
        .filter(online_transactions::status.eq(TransactionStatus::Posted.as_str()))
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
            accounts::move_cursor(conn, account.id, cursor)?;
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
