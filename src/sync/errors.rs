//! Salt Edge failures turned into what the accountant reads, and recorded on the link.

use std::sync::Arc;

use crate::app::App;
use crate::error::Error;
use crate::saltedge::{ErrorKind as SeKind, SaltEdgeError};
use crate::sync::store::{self, LinkRow, LinkUpdate};
use crate::types::LinkState;

/// Turns a Salt Edge failure into a message for the accountant (the Salt Edge error is kept as the
/// cause, for the log).
pub fn user_error(link: Option<&LinkRow>, e: &SaltEdgeError) -> Error {
    let what = link.map_or_else(|| "the bank".to_string(), |l| format!("\"{}\"", l.label()));
    let class = e.class().map(|c| format!(" ({c})")).unwrap_or_default();
    let error = match e.kind() {
        SeKind::RetryLater => Error::user(format!(
            "Salt Edge cannot serve {what} right now{class}: {} Please try again later.",
            e.message()
        )),
        SeKind::NeedsUser => Error::user(format!(
            "{what} needs your attention{class}: {} Click Update Credentials to fix it.",
            e.message()
        )),
        SeKind::NotFound => Error::user(format!(
            "Salt Edge no longer knows this connection{class}: {} Remove the connection and link the bank again.",
            e.message()
        )),
        SeKind::Duplicate => Error::user(format!("{}{class}", e.message())),
        SeKind::Config => Error::application(format!(
            "Salt Edge refused the bridge's request{class}: {} Check the bridge's Salt Edge configuration.",
            e.message()
        )),
        SeKind::Protocol => Error::application(format!("Unexpected answer from Salt Edge{class}: {}", e.message())),
        SeKind::Rejected => Error::user(format!("Salt Edge refused the request{class}: {}", e.message())),
    };
    error.with_cause(e.clone())
}

/// Records a Salt Edge failure on the link and returns the user-facing error. Failures the user must
/// fix (or a connection gone) put the link in error; the others leave it connected with the message.
/// A database failure while recording is returned instead: it is the more urgent one.
pub async fn fail_link(app: &Arc<App>, link: &LinkRow, e: &SaltEdgeError) -> Error {
    let error = user_error(Some(link), e);
    let state = match e.kind() {
        SeKind::NeedsUser | SeKind::NotFound => LinkState::Error,
        _ if link.connection_identifier.is_some() => LinkState::Connected,
        _ => LinkState::Error,
    };
    let (id, message) = (link.id, error.message().to_string());
    match app.db(move |conn, _| store::links::finish(conn, id, LinkUpdate::to_state(state, Some(message)))).await {
        Ok(()) => error,
        Err(db) => {
            tracing::error!(link = id, error = %error, "could not record a Salt Edge failure on the link");
            db
        }
    }
}

/// Records a failure that is not Salt Edge's (the database, the bridge) on a link whose attempt was
/// running, so that it does not stay `fetching`; returns the error.
pub async fn fail_link_internal(app: &Arc<App>, link_id: i64, error: Error) -> Error {
    tracing::error!(link = link_id, error = error.message(), cause = ?error.cause().map(ToString::to_string), "synchronization stopped");
    let message = format!("The synchronization stopped: {} Click Fetch Transactions to try again.", error.message());
    if let Err(db) = app
        .db(move |conn, _| {
            store::links::finish(conn, link_id, LinkUpdate::to_state(LinkState::Connected, Some(message)))
        })
        .await
    {
        tracing::error!(link = link_id, error = %db, "could not record a failed synchronization on the link");
    }
    error
}
