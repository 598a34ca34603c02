//! Importing what Salt Edge holds for a connection: accounts, then every account's new posted
//! transactions page by page from its cursor (each page committed with the cursor), then its current
//! pending set. Rerunning it, or running it concurrently, never duplicates a row.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::error::{Error, Result};
use crate::saltedge::{self, SaltEdgeError};
use crate::sync::link_events::heartbeat;
use crate::sync::saltedge_records;
use crate::sync::store::transactions::TransactionRecord;
use crate::sync::store::{self, LinkRow};
use crate::types::TransactionStatus;

/// Transactions asked per page (Salt Edge's maximum).
pub const PAGE_SIZE: u32 = 1000;
/// How often a running import renews its lease and progress text.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// What one synchronization imported.
#[derive(Clone, Debug, Default)]
pub struct SyncSummary {
    pub accounts: usize,
    pub posted_added: usize,
    pub pending: usize,
    pub pages: usize,
}

/// Progress of a synchronization, for the CLI.
pub trait Progress: Send + Sync {
    /// Posted rows this fetch of a link should bring, when Salt Edge reports every account's count.
    fn expect(&self, _rows: u64) {}
    fn page(&self, _account: i64, _rows: usize) {}
    /// Where the attempt at Salt Edge stands, in words.
    fn stage(&self, _text: &str) {}
}
impl Progress for () {}

/// A failure while importing: Salt Edge's (recorded on the link as such) or the bridge's own.
pub enum ImportError {
    SaltEdge(SaltEdgeError),
    Bridge(Error),
    /// The follower lost its lease: another process imports now and records the outcome.
    Superseded,
}

impl From<Error> for ImportError {
    fn from(e: Error) -> Self {
        ImportError::Bridge(e)
    }
}

impl From<SaltEdgeError> for ImportError {
    fn from(e: SaltEdgeError) -> Self {
        ImportError::SaltEdge(e)
    }
}

/// Adds the accounts Salt Edge knows that the link lacks and refreshes the others; `(added, updated,
/// posted count per online account id)` (an account without a reported count is absent from the map).
pub async fn sync_accounts(
    app: &Arc<App>,
    link: &LinkRow,
    connection: &str,
) -> std::result::Result<(usize, usize, HashMap<String, u64>), ImportError> {
    let accounts = app.bank()?.client.list_accounts(connection).await?;
    let counts =
        accounts.iter().filter_map(|a| a.extra.transactions_count.as_ref().map(|c| (a.id.clone(), c.posted))).collect();
    let records: Vec<_> = accounts.iter().map(saltedge_records::account).collect();
    let link = link.clone();
    let (added, updated) = app.db(move |conn, _| store::accounts::upsert(conn, &link, &records)).await?;
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
        let stored = app.db(move |conn, _| store::transactions::posted_count(conn, account_id)).await?;
        expected += at_bank.saturating_sub(stored);
    }
    Ok(Some(expected))
}

/// Imports what Salt Edge holds now: accounts, then each account's new posted transactions page by
/// page from its cursor (each page committed with the cursor), then its current pending set. Rerunning
/// it, or running it concurrently, never duplicates a row.
pub async fn import(
    app: &Arc<App>,
    link: &LinkRow,
    connection: &str,
    progress_of: &dyn Progress,
) -> std::result::Result<SyncSummary, ImportError> {
    let bank = app.bank()?;
    let (_, _, bank_counts) = sync_accounts(app, link, connection).await?;
    let link_id = link.id;
    let accounts = app.db(move |conn, _| store::accounts::of_link(conn, link_id)).await?;
    if let Some(expected) = expected_rows(app, &accounts, &bank_counts).await? {
        progress_of.expect(expected);
    }
    let mut summary = SyncSummary { accounts: accounts.len(), ..Default::default() };
    // The lease and the progress text are renewed at most every `HEARTBEAT_EVERY`, not after every page
    // (two more database tasks per page); the lease lasts 30 s (`link_events::FOLLOW_LEASE`).
    let mut last_beat = Instant::now();
    for account in accounts {
        let Some(online_id) = account.online_identifier.clone() else { continue };
        let account_id = account.id;
        app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "processing")).await?;
        let fetch = |from| posted_page(&bank.client, connection, &online_id, from);
        let mut fetched = Some(fetch(account.last_transaction_identifier.clone()).await);
        while let Some(result) = fetched.take() {
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "planned")).await?;
                    return Err(e);
                }
            };
            let PostedPage { rows, count, next, resume } = page;
            let (acc, company_id) = (account.clone(), link.company_id);
            let stored = app.db(move |conn, _| {
                store::transactions::store_posted_page(conn, &acc, company_id, &rows, resume.as_deref())
            });
            // Fetch and map the next page while this one is being stored: at most two pages in memory.
            let inserted = match next {
                Some(from) => {
                    let (stored, next_page) = tokio::join!(stored, fetch(Some(from)));
                    fetched = Some(next_page);
                    stored?
                }
                None => stored.await?,
            };
            summary.posted_added += inserted;
            summary.pages += 1;
            crate::metrics::imported(inserted);
            progress_of.page(account_id, count);
            if last_beat.elapsed() >= HEARTBEAT_EVERY {
                last_beat = Instant::now();
                let text = format!("Importing transactions: {} new so far.", summary.posted_added);
                if !heartbeat(app, link.id, text).await? {
                    return Err(ImportError::Superseded);
                }
            }
        }
        let page = bank.client.transactions_page(connection, &online_id, None, true, PAGE_SIZE).await?;
        let pending = saltedge_records::transactions(&page.data, TransactionStatus::Pending)?;
        let (acc, company_id) = (account.clone(), link.company_id);
        let pending =
            app.db(move |conn, _| store::transactions::replace_pending(conn, &acc, company_id, &pending)).await?;
        summary.pending += pending;
        crate::metrics::imported(pending);
        app.db(move |conn, _| store::accounts::set_fetching_status(conn, account_id, "done")).await?;
    }
    Ok(summary)
}

/// One page of an account's posted transactions, fetched and mapped for storage.
struct PostedPage {
    rows: Vec<TransactionRecord>,
    /// Rows Salt Edge sent (stored or skipped).
    count: usize,
    /// Where the next page starts; `None` after the last one.
    next: Option<String>,
    /// The account's cursor once this page is stored: the next page's first id; at the end, the last row
    /// seen (the unique key absorbs that one repeated row next time).
    resume: Option<String>,
}

/// The account's posted page from `from`, mapped: the import runs this beside the storage of the previous
/// page, so that the HTTP round trip, the decoding and the mapping all overlap the storage.
async fn posted_page(
    client: &saltedge::Client,
    connection: &str,
    online_id: &str,
    from: Option<String>,
) -> std::result::Result<PostedPage, ImportError> {
    let page = client.transactions_page(connection, online_id, from.as_deref(), false, PAGE_SIZE).await?;
    // A `next_id` equal to the page's own start would loop forever: treat it as the end.
    let next = page.next_id.clone().filter(|n| Some(n) != from.as_ref());
    let resume = page.next_id.clone().or_else(|| page.data.last().map(|t| t.id.clone())).or(from);
    let rows = saltedge_records::transactions(&page.data, TransactionStatus::Posted)?;
    Ok(PostedPage { rows, count: page.data.len(), next, resume })
}
