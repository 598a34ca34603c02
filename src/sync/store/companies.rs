//! Reads of `companies` (written by the ORM and the user commands, never by the sync engine).

use diesel::prelude::*;

use crate::db::schema::companies;
use crate::db::AnyConnection;
use crate::error::Result;

pub fn name(conn: &mut AnyConnection, company_id: i64) -> Result<String> {
    Ok(companies::table.filter(companies::id.eq(company_id)).select(companies::name).first(conn)?)
}
