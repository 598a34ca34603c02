//! Failures in the accountant's words, recorded on the link. What a Salt Edge failure means for the link
//! (`types::Failure`) is decided on the Salt Edge side (`saltedge::error`); the state it leads to, by the
//! one transition function; the words the user reads, here.

use std::sync::Arc;

use crate::app::App;
use crate::error::Error;
use crate::saltedge::{self, ErrorKind as SeKind, SaltEdgeError};
use crate::sync::store::{self, links::Change, LinkRow};
use crate::types::{Failure, LinkEvent};

/// Turns a Salt Edge failure into a message for the accountant: the bank's words, never Salt Edge's
/// error class (which stays in the cause, for the log).
pub fn user_error(link: Option<&LinkRow>, e: &SaltEdgeError) -> Error {
    let what = link.map_or_else(|| "the bank".to_string(), |l| format!("\"{}\"", l.label()));
    let message = sentence(e.message());
    let error = match e.kind() {
        SeKind::RetryLater => {
            Error::user(format!("The bank cannot answer for {what} right now: {message} Please try again later."))
        }
        SeKind::NeedsUser => {
            Error::user(format!("{what} needs your attention: {message} Click Update Credentials to fix it."))
        }
        SeKind::NotFound => Error::user(format!(
            "The bank no longer knows this connection: {message} Remove the connection and connect the bank again."
        )),
        SeKind::Duplicate => Error::user(sentence(e.message())),
        SeKind::Config => Error::application(format!(
            "The bank's aggregator refused the bridge's request: {message} Check the bridge's aggregator settings \
             (the bridge's log names the error)."
        )),
        SeKind::Protocol => Error::application(format!(
            "Unexpected answer from the bank's aggregator: {message} (see the bridge's log)"
        )),
        SeKind::Rejected => Error::user(format!("The bank refused the request: {message}")),
    };
    error.with_cause(e.clone())
}

/// Maps a Salt Edge failure met outside any link (customer, providers) to the user's error.
pub fn bank_error(e: &SaltEdgeError) -> Error {
    user_error(None, e)
}

/// `text` as a sentence that another can follow: ends with a full stop (or its own `?`, `!`, `…`).
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with(['.', '!', '?', '…']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// Records `failure` on the link with `message` and returns `error`, the user's; a database failure
/// while recording is returned instead (the more urgent one). Whether the link moves is the transition
/// function's decision: a link the user disconnected keeps its state and message.
pub async fn record_failure(app: &Arc<App>, link_id: i64, failure: Failure, message: String, error: Error) -> Error {
    let change = Change::new(LinkEvent::Failed(failure)).message(message);
    match app.db(move |conn, _| store::links::record(conn, link_id, change)).await {
        Ok(_) => error,
        Err(db) => {
            tracing::error!(link = link_id, error = %error, "could not record a failure on the link");
            db
        }
    }
}

/// Records a failed request to Salt Edge about the link; returns the user's error.
pub async fn fail_link(app: &Arc<App>, link: &LinkRow, e: &SaltEdgeError) -> Error {
    let error = user_error(Some(link), e);
    record_failure(app, link.id, e.link_failure(), error.message().to_string(), error).await
}

/// Records a failure that is not Salt Edge's (the database, the bridge) on a link whose attempt was
/// running, so that it does not stay `fetching`; returns the error.
pub async fn fail_link_internal(app: &Arc<App>, link_id: i64, error: Error) -> Error {
    tracing::error!(link = link_id, error = error.message(), cause = ?error.cause().map(ToString::to_string), "synchronization stopped");
    let message =
        format!("The synchronization stopped: {} Click Fetch Transactions to try again.", sentence(error.message()));
    record_failure(app, link_id, Failure::Bridge, message, error).await
}

/// Records an attempt that failed at the bank with Salt Edge's class and message (read from Salt Edge
/// or from a verified callback, never from a URL); returns the user's error.
pub async fn fail_attempt(app: &Arc<App>, link: &LinkRow, class: &str, message: &str) -> Error {
    let failure = saltedge::error::attempt_failure(class);
    let link_for_db = link.clone();
    let (class, message) = (class.to_string(), message.to_string());
    let text = app.db(move |conn, _| attempt_message(conn, &link_for_db, &class, &message)).await;
    match text {
        Ok(text) => record_failure(app, link.id, failure, text.clone(), Error::user(text)).await,
        Err(db) => db,
    }
}

/// What the user reads of a failed attempt: the bank's message, never Salt Edge's error class. Salt
/// Edge does not say which connection a duplicate duplicates: every candidate of the company is named,
/// by the name the user knows it by.
fn attempt_message(
    conn: &mut crate::db::AnyConnection,
    link: &LinkRow,
    class: &str,
    message: &str,
) -> crate::error::Result<String> {
    if saltedge::error::classify(0, class) == SeKind::Duplicate {
        let existing = match (&link.provider_code, &link.client_id) {
            (Some(provider), Some(customer)) => store::links::other_live_links(conn, link, provider, customer)?,
            _ => Vec::new(),
        };
        let names: Vec<String> = existing.iter().map(|l| format!("\"{}\"", l.label())).collect();
        return Ok(match names.as_slice() {
            [] => "You have already synchronized this bank account. Open the existing bank connection and click Update Credentials instead of adding it again.".to_string(),
            names => format!(
                "You have already synchronized this bank account in {}. Open it and click Update Credentials instead of adding it again.",
                names.join(" or ")
            ),
        });
    }
    Ok(if class.is_empty() {
        sentence(message)
    } else {
        format!("The bank refused the connection: {} Click Update Credentials to try again.", sentence(message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accountant_reads_the_bank_s_words_not_salt_edge_s_classes() {
        let link = LinkRow {
            id: 7,
            name: Some("Fake Bank Simple".into()),
            provider_code: Some("fakebank_simple_xf".into()),
            state: "connected".into(),
            company_id: 1,
            client_id: None,
            connection_identifier: Some("1".into()),
            error_message: None,
            next_refresh_possible_at: None,
            auto_sync: true,
            return_url: None,
            renewal_contact_email: None,
            renewal_contact_phone: None,
            write_date: None,
            provider: "saltedge".into(),
            bank_reads: None,
            balances_read_at: None,
        };
        for (class, message) in [
            ("InvalidCredentials", "Invalid login or password"),
            ("ProviderUnavailable", "The bank is down"),
            ("ConnectionNotFound", "Gone"),
            ("ConnectionDuplicated", "Already connected"),
            ("ClientDisabled", "Disabled"),
            ("ValueOutOfRange", "Too far"),
        ] {
            let error = SaltEdgeError::from_api(406, class, message);
            let text = user_error(Some(&link), &error).message().to_string();
            assert!(!text.contains(class), "{text}");
            assert!(!text.contains("Salt Edge"), "{text}");
            assert!(text.contains(message), "{text}");
        }
    }

    #[test]
    fn a_message_ends_its_sentence_before_the_next_one() {
        assert_eq!(sentence("late fail"), "late fail.");
        assert_eq!(sentence("Wrong password. "), "Wrong password.");
        assert_eq!(sentence("Really?"), "Really?");
        assert_eq!(sentence(""), "");
    }
}
