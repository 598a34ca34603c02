//! What happens to a link, recorded from async code: the one writer of a link's state
//! (`store::links::record`, on the blocking pool), and a refused change turned into the user's words
//! (the user disconnected the link: the work that reported the change stops there).

use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::sync::store::{self, links::Change, LinkRow, LinkUpdate};
use crate::types::{LinkEvent, LinkState};

/// How long a follower's lease lasts unless renewed: it renews it on every poll (at least every
/// `MAX_POLL_INTERVAL`) and every page; a lease this old belongs to a process that died.
pub const FOLLOW_LEASE: chrono::Duration = chrono::Duration::seconds(30);

pub async fn load(app: &Arc<App>, link_id: i64) -> Result<LinkRow> {
    app.db(move |conn, _| store::links::load(conn, link_id, None)).await
}

/// Records `change` on the link; a refused change (the user disconnected the link meanwhile) ends the
/// work that reported it, with the user's words.
pub async fn record(app: &Arc<App>, link_id: i64, change: Change) -> Result<LinkState> {
    match app.db(move |conn, _| store::links::record(conn, link_id, change)).await? {
        Ok(state) => Ok(state),
        Err(_) => {
            let link = load(app, link_id).await?;
            Err(Error::user(format!(
                "\"{}\" is disconnected: the bridge leaves it as it is. Click Update Credentials to connect it again.",
                link.label()
            )))
        }
    }
}

/// Where the running attempt stands, in the user's words.
pub async fn progress(app: &Arc<App>, link_id: i64, text: String) -> Result<()> {
    let columns = LinkUpdate { sync_progress: Some(Some(text)), ..Default::default() };
    record(app, link_id, Change::new(LinkEvent::Progressed).columns(columns)).await.map(|_| ())
}

/// The follower's `progress`, which also renews its lease (`store::claims`): other processes leave the
/// attempt to it while it does. False when it lost the lease (its process was too slow to renew it and
/// another took the attempt over): the follower then stops, recording nothing ([`superseded`]).
pub async fn heartbeat(app: &Arc<App>, link_id: i64, text: String) -> Result<bool> {
    progress(app, link_id, text).await?;
    let lease = FOLLOW_LEASE;
    app.db(move |conn, _| store::claims::renew_follow(conn, link_id, crate::bank::worker(), lease)).await
}

/// What a follower that lost its lease answers: another process follows the attempt now, and records
/// its outcome.
pub async fn superseded(app: &Arc<App>, link_id: i64) -> Error {
    match load(app, link_id).await {
        Ok(link) => {
            Error::user(format!("The synchronization of \"{}\" is followed by another process now.", link.label()))
        }
        Err(e) => e,
    }
}

/// The link's connection at its aggregator, or the user's error of a link that has none.
pub fn connected(link: &LinkRow) -> Result<String> {
    link.connection_identifier.clone().ok_or_else(|| {
        Error::user(match &link.error_message {
            Some(message) if !message.is_empty() && link.state() == LinkState::Error => message.clone(),
            _ => format!(
                "\"{}\" is not connected to a bank yet: click Connect (Add a Bank Account) first.",
                link.label()
            ),
        })
    })
}
