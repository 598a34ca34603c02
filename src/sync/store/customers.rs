//! `saltedge_customers`: each company's own Salt Edge customer.

use diesel::prelude::*;

use super::already_there;
use crate::db::schema::saltedge_customers;
use crate::db::AnyConnection;
use crate::error::{Error, Result};

/// The company's own Salt Edge customer id, if the bridge created or found it before.
pub fn of_company(conn: &mut AnyConnection, company_id: i64) -> Result<Option<String>> {
    Ok(saltedge_customers::table
        .filter(saltedge_customers::company_id.eq(company_id))
        .select(saltedge_customers::customer_id)
        .first(conn)
        .optional()?)
}

/// Records the company's customer; a concurrent first call that stored one already wins (returned).
pub fn save(conn: &mut AnyConnection, company_id: i64, customer_id: &str, identifier: &str) -> Result<String> {
    let inserted = diesel::insert_into(saltedge_customers::table)
        .values((
            saltedge_customers::company_id.eq(company_id),
            saltedge_customers::customer_id.eq(customer_id),
            saltedge_customers::identifier.eq(identifier),
        ))
        .execute(conn);
    if !already_there(&inserted) {
        inserted?;
        return Ok(customer_id.to_string());
    }
    of_company(conn, company_id)?
        .ok_or_else(|| Error::application("The company's Salt Edge customer could not be recorded."))
}
