//! Enable Banking's failures in the accountant's words, and recorded on the link (apart from the module's
//! flows so that the background reads, which record them too, do not reach back up into those flows).

use std::sync::Arc;

use crate::app::App;
use crate::enablebanking::{EnableBankingError, ErrorKind as EbKind};
use crate::error::Error;
use crate::sync::failures::record_failure;
use crate::sync::store::LinkRow;

/// Turns an Enable Banking failure into the accountant's words (the error is kept as the cause).
pub fn user_error(link: Option<&LinkRow>, e: &EnableBankingError) -> Error {
    let what = link.map_or_else(|| "the bank".to_string(), |l| format!("\"{}\"", l.label()));
    let code = e.code().map(|c| format!(" ({c})")).unwrap_or_default();
    let message = e.message().trim().trim_end_matches('.');
    let error = match e.kind() {
        EbKind::ConsentExpired => Error::user(format!(
            "The consent for {what} has ended at the bank{code}: {message}. Click Update Credentials to renew it."
        )),
        EbKind::RateLimited => Error::user(format!(
            "The bank refuses more reads of {what} for today{code}: it allows about four a day without you. The bridge reads again tomorrow."
        )),
        EbKind::BankUnavailable => {
            Error::user(format!("The bank of {what} is not answering{code}: {message}. Please try again later."))
        }
        EbKind::WrongState => Error::user(format!(
            "The authorization of {what} cannot be used{code}: {message}. Click Update Credentials to connect it again."
        )),
        EbKind::NotFound => Error::user(format!(
            "Enable Banking no longer knows this connection{code}: {message}. Click Update Credentials to connect it again."
        )),
        EbKind::RetryLater => Error::user(format!(
            "Enable Banking cannot serve {what} right now{code}: {message}. Please try again later."
        )),
        EbKind::Config => Error::application(format!(
            "Enable Banking refused the bridge's request{code}: {message}. Check the bridge's Enable Banking configuration (application id, key, redirect URL)."
        )),
        EbKind::Protocol => Error::application(format!("Unexpected answer from Enable Banking{code}: {message}.")),
        EbKind::Rejected => Error::user(format!("Enable Banking refused the request{code}: {message}.")),
    };
    error.with_cause(e.clone())
}

/// Records a failed request to Enable Banking about the link; returns the user's error.
pub async fn fail_link(app: &Arc<App>, link: &LinkRow, e: &EnableBankingError) -> Error {
    let error = user_error(Some(link), e);
    record_failure(app, link.id, e.link_failure(), error.message().to_string(), error).await
}
