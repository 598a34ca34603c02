//! The one rule that keeps companies apart at Salt Edge: a connection is attached to a link only when it
//! belongs to the Salt Edge customer of the link's company.

use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::saltedge::Connection;
use crate::sync::store::{self, LinkRow};

/// Refuses a connection that is not the company's (or that another link already holds).
pub async fn verify_owner(app: &Arc<App>, link: &LinkRow, connection: &Connection) -> Result<()> {
    let (company, connection_id) = (link.company_id, connection.id.clone());
    let (owner, holder) = app
        .db(move |conn, _| {
            Ok((store::customers::of_company(conn, company)?, store::links::by_connection(conn, &connection_id)?))
        })
        .await?;
    let already_attached = link.connection_identifier.as_deref() == Some(connection.id.as_str());
    let customer_ok = match connection.customer_id.as_deref() {
        Some(customer) if already_attached => link.client_id.as_deref() == Some(customer),
        Some(customer) => owner.as_deref() == Some(customer) && link.client_id.as_deref() == Some(customer),
        None => false,
    };
    let held_elsewhere = holder.is_some_and(|other| other.id != link.id);
    if customer_ok && !held_elsewhere {
        return Ok(());
    }
    tracing::warn!(
        link = link.id,
        company = link.company_id,
        held_elsewhere,
        "refused to attach a Salt Edge connection that is not this company's"
    );
    Err(Error::access("This bank connection does not belong to this company's bank link."))
}
