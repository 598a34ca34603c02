//! `online_accounts`: a link's bank accounts, their fetch status and their transaction cursor.

use chrono::Utc;
use diesel::prelude::*;

use super::{already_there, links, stored_text, LinkRow};
use crate::db::schema::online_accounts;
use crate::db::AnyConnection;
use crate::error::Result;
use crate::types::time::{date_string, now_string};

#[derive(Clone, Debug, Queryable)]
pub struct AccountRow {
    pub id: i64,
    pub online_identifier: Option<String>,
    pub last_transaction_identifier: Option<String>,
    pub inverse_transaction_sign: bool,
    /// Enable Banking: the account's uid in the link's current session (what it is read with).
    pub session_account_id: Option<String>,
}

/// An account as an aggregator reports it, in this table's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRecord {
    /// Stable across the aggregator's sessions: how the account is recognised again.
    pub online_identifier: String,
    pub name: String,
    pub account_number: Option<String>,
    /// `None` leaves a known account's balance as it is (a fetch that did not read it).
    pub balance: Option<f64>,
    pub currency_code: String,
    /// What the account is read with now, when that is not the online identifier; `None` keeps it.
    pub session_account_id: Option<String>,
}

pub fn of_link(conn: &mut AnyConnection, link_id: i64) -> Result<Vec<AccountRow>> {
    Ok(online_accounts::table
        .filter(online_accounts::account_online_link_id.eq(link_id))
        .select((
            online_accounts::id,
            online_accounts::online_identifier,
            online_accounts::last_transaction_identifier,
            online_accounts::inverse_transaction_sign,
            online_accounts::session_account_id,
        ))
        .order(online_accounts::id)
        .load(conn)?)
}

/// Names of a link's accounts, for the result page.
pub fn names(conn: &mut AnyConnection, link_id: i64) -> Result<Vec<String>> {
    Ok(online_accounts::table
        .filter(online_accounts::account_online_link_id.eq(link_id))
        .select(online_accounts::name)
        .order(online_accounts::id)
        .load(conn)?)
}

/// Adds the accounts the aggregator reports that the link does not have yet and refreshes the others'
/// balances; returns `(added, updated)`. Safe against a concurrent run (the unique key decides).
pub fn upsert(conn: &mut AnyConnection, link: &LinkRow, accounts: &[AccountRecord]) -> Result<(usize, usize)> {
    let now = now_string();
    let mut added = 0;
    let mut updated = 0;
    for account in accounts {
        let number = account.account_number.as_deref().map(stored_text);
        let online_id = stored_text(&account.online_identifier);
        let currency = stored_text(&account.currency_code);
        let name =
            if account.name.trim().is_empty() { format!("Account {online_id}") } else { stored_text(&account.name) };
        let session_account_id = account.session_account_id.as_deref().map(stored_text);
        let existing = online_accounts::table
            .filter(online_accounts::account_online_link_id.eq(link.id))
            .filter(online_accounts::online_identifier.eq(&online_id))
            .select(online_accounts::id)
            .first::<i64>(conn)
            .optional()?;
        match existing {
            Some(id) => {
                let row = online_accounts::table.filter(online_accounts::id.eq(id));
                diesel::update(row)
                    .set((online_accounts::currency_code.eq(&currency), online_accounts::write_date.eq(&now)))
                    .execute(conn)?;
                if let Some(balance) = account.balance {
                    diesel::update(row).set(online_accounts::balance.eq(balance)).execute(conn)?;
                }
                if let Some(session_account_id) = &session_account_id {
                    diesel::update(row)
                        .set(online_accounts::session_account_id.eq(session_account_id))
                        .execute(conn)?;
                }
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
                        online_accounts::session_account_id.eq(&session_account_id),
                        online_accounts::account_online_link_id.eq(link.id),
                        online_accounts::company_id.eq(link.company_id),
                        online_accounts::create_date.eq(&now),
                        online_accounts::write_date.eq(&now),
                    ))
                    .execute(conn);
                // Another process (a callback, a second replica) may have inserted it first.
                if !already_there(&inserted) {
                    inserted?;
                    added += 1;
                }
            }
        }
    }
    let unlinked = online_accounts::table
        .filter(online_accounts::account_online_link_id.eq(link.id))
        .filter(online_accounts::journal_id.is_null().or(online_accounts::journal_id.eq(0)))
        .count()
        .get_result::<i64>(conn)?;
    links::set_has_unlinked_accounts(conn, link.id, unlinked > 0)?;
    Ok((added, updated))
}

pub fn set_fetching_status(conn: &mut AnyConnection, account_id: i64, status: &str) -> Result<()> {
    diesel::update(online_accounts::table.filter(online_accounts::id.eq(account_id)))
        .set(online_accounts::fetching_status.eq(status))
        .execute(conn)?;
    Ok(())
}

/// Forgets the session ids of the link's accounts that `kept` does not hold (a session ended or replaced:
/// those accounts are not read any more until a session holds them again).
pub fn forget_session_ids_except(conn: &mut AnyConnection, link_id: i64, kept: &[AccountRecord]) -> Result<()> {
    let kept: Vec<String> = kept.iter().map(|a| stored_text(&a.online_identifier)).collect();
    diesel::update(
        online_accounts::table
            .filter(online_accounts::account_online_link_id.eq(link_id))
            .filter(online_accounts::online_identifier.ne_all(kept)),
    )
    .set(online_accounts::session_account_id.eq(None::<String>))
    .execute(conn)?;
    Ok(())
}

/// Writes an account's balance (a read of the balances alone).
pub fn set_balance(conn: &mut AnyConnection, account_id: i64, balance: f64) -> Result<()> {
    diesel::update(online_accounts::table.filter(online_accounts::id.eq(account_id)))
        .set((online_accounts::balance.eq(balance), online_accounts::write_date.eq(now_string())))
        .execute(conn)?;
    Ok(())
}

/// Moves the account's transaction cursor (inside the transaction that stores the page it ends).
pub fn move_cursor(conn: &mut AnyConnection, account_id: i64, cursor: &str) -> Result<()> {
    diesel::update(online_accounts::table.filter(online_accounts::id.eq(account_id)))
        .set((
            online_accounts::last_transaction_identifier.eq(stored_text(cursor)),
            online_accounts::last_sync.eq(date_string(Utc::now().date_naive())),
        ))
        .execute(conn)?;
    Ok(())
}
