//! The sync engine: Odoo's online-synchronization buttons mapped onto Salt Edge (link = connect, update
//! credentials = reconnect, fetch accounts = refresh + account diff, fetch transactions = background
//! refresh followed to its end + keyset paging from the last stored id, revoke, remove), Salt Edge's way
//! back in (signed callbacks, the return page), and the `auto_sync` scheduler.
//!
//! * `customers` — each company's own Salt Edge customer; `return_url` — an attempt's one-time return
//!   `state` and the `return_to` allow-list;
//! * `errors` — Salt Edge failures in the accountant's words, recorded on the link;
//! * `actions` — what each Odoo button does (returns at once);
//! * `flows` — attempts followed to their end and the import of what they brought;
//! * `web` — Salt Edge's callbacks and the browser's return (the engine's HTTP face, a layer above it);
//! * `store` — storage, one module per table.

pub mod actions;
pub mod customers;
pub mod errors;
pub mod flows;
pub mod ownership;
pub mod return_url;
pub mod scheduler;
pub mod store;
pub mod web;

pub use actions::{
    before_unlink, fetch_accounts, fetch_transactions, new_synchronization, notification, refresh_institutions,
    remove_connection, revoke_consent, update_credentials, NewSynchronization,
};
pub use errors::{fail_link, user_error};
pub use flows::{fetch_and_wait, Progress, SyncSummary, PAGE_SIZE};
