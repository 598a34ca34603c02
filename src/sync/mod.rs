//! The sync engine: Odoo's online-synchronization buttons mapped onto the aggregators behind
//! `aggregator` — Salt Edge (link = connect, update credentials = reconnect, fetch accounts = refresh +
//! account diff, fetch transactions = background refresh followed to its end + keyset paging from the
//! last stored id, revoke, remove) and Enable Banking (link = an authorization at the bank, fetch
//! transactions = the reads its daily limit leaves, revoke and remove = end the session) — their ways
//! back in (Salt Edge's signed callbacks, the return pages), and the `auto_sync` scheduler.
//!
//! * `aggregator` — the one interface, and each aggregator's side of it;
//! * `saltedge_records` — Salt Edge's objects in the storage's terms;
//! * `customers` — each company's own Salt Edge customer; `return_url` — an attempt's one-time return
//!   `state` and the `return_to` allow-list;
//! * `actions` — what each Odoo button does (returns at once);
//! * `fetch` — Fetch Transactions, the scheduler's and the CLI's fetches; `follow` — an attempt followed
//!   to its end; `import` — what it brought, stored;
//! * `link_events` — what happens to a link, recorded through the one writer of its state;
//! * `takeover` — synchronizations whose process died, finished by another;
//! * `failures` — failures in the accountant's words, recorded on the link;
//! * `web` — Salt Edge's callbacks and the browser's return (the engine's HTTP face, a layer above it);
//! * `store` — storage, one module per table; `store::links::record` is the one writer of a link's state,
//!   through the one transition function (`types::transition`).

pub mod actions;
pub mod aggregator;
pub mod answer;
pub mod customers;
pub mod failures;
pub mod fetch;
pub mod fetch_start;
pub mod follow;
pub mod import;
pub mod link_events;
pub mod ownership;
pub mod return_url;
pub mod saltedge_records;
pub mod scheduler;
pub mod store;
pub mod takeover;
pub mod web;

pub use actions::{
    before_unlink, fetch_accounts, fetch_transactions, new_synchronization, refresh_institutions, remove_connection,
    revoke_consent, update_credentials, NewSynchronization,
};
pub use answer::{Answer, Level, Notice};
pub use failures::user_error;
pub use fetch::{fetch_and_wait, FetchBy};
pub use import::{Progress, SyncSummary, PAGE_SIZE};
