//! Each company's own Salt Edge customer: one per company of this bridge's database, created at Salt Edge
//! on first use and stored.

use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::sync::failures::user_error;
use crate::sync::store;

/// The Salt Edge customer identifier of a company: one customer per company of this bridge's
/// database, never shared and never derived from an e-mail (the e-mail is only the renewal contact).
/// `installation` (random, stored once per database) keeps two databases that use the same Salt Edge
/// app (a staging copy, a second bridge) from sharing customers even with equal names and ids.
pub fn customer_identifier(db_name: &str, installation: &str, company_id: i64) -> String {
    format!("bankbridge-{db_name}-{installation}-company-{company_id}")
}

const INSTALLATION_SETTING: &str = "saltedge.installation_id";

/// This database's installation id, created on first use.
fn installation_id(conn: &mut crate::db::AnyConnection) -> Result<String> {
    if let Some(known) = store::settings::get(conn, INSTALLATION_SETTING)? {
        return Ok(known);
    }
    let fresh = hex::encode(rand::random::<[u8; 6]>());
    store::settings::insert_if_absent(conn, INSTALLATION_SETTING, &fresh)?;
    store::settings::get(conn, INSTALLATION_SETTING)?
        .ok_or_else(|| Error::application("The bridge's installation id could not be recorded."))
}

/// The company's own Salt Edge customer id: stored once found or created.
pub async fn company_customer(app: &Arc<App>, company_id: i64) -> Result<String> {
    if let Some(known) = app.db(move |conn, _| store::customers::of_company(conn, company_id)).await? {
        return Ok(known);
    }
    let installation = app.db(|conn, _| installation_id(conn)).await?;
    let identifier = customer_identifier(&app.db_name, &installation, company_id);
    let customer = app.bank()?.client.get_or_create_customer(&identifier).await.map_err(|e| user_error(None, &e))?;
    let id = customer.customer_id;
    if id.is_empty() {
        return Err(Error::application("Salt Edge answered a customer without an id."));
    }
    app.db(move |conn, _| store::customers::save(conn, company_id, &id, &identifier)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_identifiers_differ_per_company_and_database() {
        assert_eq!(customer_identifier("bankbridge", "0a1b", 1), "bankbridge-bankbridge-0a1b-company-1");
        assert_ne!(customer_identifier("bankbridge", "0a1b", 1), customer_identifier("bankbridge", "0a1b", 2));
        assert_ne!(customer_identifier("a", "0a1b", 1), customer_identifier("b", "0a1b", 1));
        assert_ne!(customer_identifier("a", "0a1b", 1), customer_identifier("a", "ffff", 1));
    }
}
