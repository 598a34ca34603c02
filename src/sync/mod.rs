//! The sync engine: Odoo's online-synchronization buttons mapped onto Salt Edge (link = connect, update
//! credentials = reconnect, fetch accounts = refresh + account diff, fetch transactions = background
//! refresh followed to its end + keyset paging from the last stored id, revoke, remove), Salt Edge's way
//! back in (signed callbacks, the return page), and the `auto_sync` scheduler.
//!
//! * `bank` — configuration: the client, callback key, return `state`s, `return_to` allow-list, the
//!   company's own Salt Edge customer;
//! * `errors` — Salt Edge failures in the accountant's words, recorded on the link;
//! * `actions` — what each Odoo button does (returns at once);
//! * `flows` — attempts followed to their end and the import of what they brought;
//! * `callbacks`, `return_page` — Salt Edge's callbacks and the browser's return;
//! * `store` — storage, one module per table.

pub mod actions;
pub mod bank;
pub mod callbacks;
pub mod errors;
pub mod flows;
pub mod ownership;
pub mod return_page;
pub mod scheduler;
pub mod store;

pub use actions::{
    before_unlink, fetch_accounts, fetch_transactions, new_synchronization, notification, refresh_institutions,
    remove_connection, revoke_consent, update_credentials, NewSynchronization,
};
pub use bank::{bank, Bank};
pub use errors::{fail_link, user_error};
pub use flows::{fetch_and_wait, Progress, SyncSummary, PAGE_SIZE};

/// Salt Edge's routes into the bridge.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.route("/saltedge/callbacks/{kind}", web::post().to(callbacks::callback))
        .route("/saltedge/return", web::get().to(return_page::return_page));
}
