//! Salt Edge and Enable Banking behind one interface, chosen per link by its `provider` (and, before a
//! link has one, by its institution's). The buttons (`sync::actions`), the fetches (`sync::fetch`) and
//! the scheduler speak to an [`Aggregator`]; each aggregator's own words stay on its side:
//!
//! | the interface | Salt Edge (`saltedge`) | Enable Banking (`enablebanking`) |
//! |---|---|---|
//! | [`institutions`](Aggregator::institutions) | `GET /providers` | `GET /aspsps` |
//! | [`connect_page`](Aggregator::connect_page) (start a connection, renew it) | connect / reconnect widget | `POST /auth`: the bank's page |
//! | finish the return | `GET /saltedge/return` + signed callbacks (`sync::web`) | `GET /enablebanking/return` → `POST /sessions` (`sync::web`) |
//! | [`fetch_accounts`](Aggregator::fetch_accounts) | accounts, or the refresh widget | the session's status and accounts |
//! | fetch transactions, posted and pending (`sync::fetch`) | background refresh followed to its end, then paging | planned reads of each account, then paging |
//! | refresh limits | `next_refresh_possible_at`, 406 answers | the bank's four unattended reads a day (`enablebanking::plan`) |
//! | consent expiry | the consents' `expires_at` | the session's `access.valid_until` |
//! | [`revoke`](Aggregator::revoke) | revoke the consents | `DELETE /sessions/{id}` |
//! | [`remove`](Aggregator::remove) | `DELETE /connections/{id}` | `DELETE /sessions/{id}` |
//!
//! Institution codes are unique across aggregators: Enable Banking's are `enablebanking:<country>:<name>`,
//! and a Salt Edge code never holds a `:`.

pub mod enablebanking;
pub mod saltedge;

use std::sync::Arc;

use crate::app::App;
use crate::bank::{Bank, EnableBanking};
use crate::error::Result;
use crate::sync::answer::Answer;
use crate::sync::store::institutions::InstitutionRecord;
use crate::sync::store::{AttemptKind, LinkRow};
use crate::types::Provider;

/// One configured aggregator.
#[derive(Clone)]
pub enum Aggregator {
    SaltEdge(Arc<Bank>),
    EnableBanking(Arc<EnableBanking>),
}

impl Aggregator {
    /// The aggregator `provider` names, or the user's error when the bridge is not configured for it.
    pub fn of(app: &App, provider: Provider) -> Result<Aggregator> {
        Ok(match provider {
            Provider::SaltEdge => Aggregator::SaltEdge(Arc::clone(app.bank()?)),
            Provider::EnableBanking => Aggregator::EnableBanking(Arc::clone(app.enablebanking()?)),
        })
    }

    /// The aggregator of `link`.
    pub fn of_link(app: &App, link: &LinkRow) -> Result<Aggregator> {
        Aggregator::of(app, link.provider())
    }

    /// Every aggregator the bridge is configured for.
    pub fn configured(app: &App) -> Vec<Aggregator> {
        Provider::ALL.into_iter().filter_map(|provider| Aggregator::of(app, provider).ok()).collect()
    }

    pub fn provider(&self) -> Provider {
        match self {
            Aggregator::SaltEdge(_) => Provider::SaltEdge,
            Aggregator::EnableBanking(_) => Provider::EnableBanking,
        }
    }

    /// The banks it offers, as institutions.
    pub async fn institutions(&self) -> Result<Vec<InstitutionRecord>> {
        match self {
            Aggregator::SaltEdge(bank) => saltedge::institutions(bank).await,
            Aggregator::EnableBanking(eb) => enablebanking::institutions(eb).await,
        }
    }

    /// The page the user opens to connect `link` (`Connect`) or to renew its consent (`Reconnect`); the
    /// page sends the browser back with the attempt's one-time `state`.
    pub async fn connect_page(
        &self,
        app: &Arc<App>,
        link: &LinkRow,
        kind: AttemptKind,
        return_to: Option<String>,
    ) -> Result<Answer> {
        match self {
            Aggregator::SaltEdge(bank) => saltedge::connect_page(app, bank, link, kind, return_to).await,
            Aggregator::EnableBanking(eb) => enablebanking::connect_page(app, eb, link, return_to).await,
        }
    }

    /// "Fetch Accounts": the accounts the aggregator knows that the link lacks.
    pub async fn fetch_accounts(&self, app: &Arc<App>, link: &LinkRow) -> Result<Answer> {
        match self {
            Aggregator::SaltEdge(bank) => saltedge::fetch_accounts(app, bank, link).await,
            Aggregator::EnableBanking(eb) => enablebanking::fetch_accounts(app, eb, link).await,
        }
    }

    /// Ends the bank's consent; returns what the user reads on the link afterwards.
    pub async fn revoke(&self, app: &Arc<App>, link: &LinkRow) -> Result<String> {
        match self {
            Aggregator::SaltEdge(bank) => saltedge::revoke(bank, link).await,
            Aggregator::EnableBanking(eb) => enablebanking::revoke(app, eb, link).await,
        }
    }

    /// Deletes the connection at the aggregator (already gone counts as done); returns what the user
    /// reads on the link afterwards.
    pub async fn remove(&self, link: &LinkRow) -> Result<String> {
        match self {
            Aggregator::SaltEdge(bank) => saltedge::remove(bank, link).await,
            Aggregator::EnableBanking(eb) => enablebanking::remove(eb, link).await,
        }
    }

    /// Whether, once the consent is revoked, something of the link still lives at the aggregator (so the
    /// record stays until the user removes it there): a Salt Edge connection does; an ended Enable
    /// Banking session holds nothing.
    pub fn keeps_connection_after_revoke(&self) -> bool {
        matches!(self, Aggregator::SaltEdge(_))
    }
}
