//! The sync engine's storage: one module per table it writes, each the only writer of its table outside
//! the ORM (the generic `create`/`write`/`unlink` of the exposed models).
//!
//! * `links` — `online_links`: the rows, and every change of a link's state through the one transition
//!   function (`types::transition`);
//! * `claims` — the scheduler's leases on `online_links` (`sync_claimed_by`, `sync_claimed_until`);
//! * `institutions` — `online_institutions`, from the aggregator's provider list;
//! * `accounts` — `online_accounts`: upserts, fetch status and transaction cursor;
//! * `transactions` — `online_transactions`: pages stored so that a rerun or a crash half-way never
//!   duplicates or loses a row;
//! * `customers` — `saltedge_customers`, one per company; `companies` — reads of `companies`;
//! * `settings` — `bridge_settings`;
//! * `return_states` — `saltedge_return_states`, the one-time `state` of an attempt's return URL.
//!
//! Text that comes from the bank or the aggregator is cleaned at one point, [`stored_text`], the ORM's own
//! cleaning (`types::clean_text`); timestamps are written by `types::time` alone.

pub mod accounts;
pub mod claims;
pub mod companies;
pub mod customers;
pub mod institutions;
pub mod links;
pub mod return_states;
pub mod settings;
pub mod transactions;

pub use accounts::AccountRow;
pub use links::{LinkRow, LinkUpdate, NewLink};
pub use return_states::{AttemptKind, ReturnState};

/// Bank text as it may be stored (see `types::clean_text`): a NUL or a control character from a hostile or
/// broken bank string must neither fail every later fetch (PostgreSQL refuses NUL) nor make every later
/// XML-RPC answer unreadable. Every text column the sync engine writes passes through here.
pub fn stored_text(text: &str) -> String {
    crate::types::clean_text(text).into_owned()
}

/// Whether an insert failed only because the row is there already (a concurrent writer won).
fn already_there<T>(outcome: &Result<T, diesel::result::Error>) -> bool {
    matches!(outcome, Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)))
}

#[cfg(test)]
mod tests;
