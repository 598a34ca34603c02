//! `bridge_settings`: the bridge's own key-value settings (installation id, sandbox URL, each company's
//! Odoo origin).

use diesel::prelude::*;

use super::already_there;
use crate::db::schema::bridge_settings;
use crate::db::AnyConnection;
use crate::error::Result;

pub fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(bridge_settings::table
        .filter(bridge_settings::key.eq(key))
        .select(bridge_settings::value)
        .first(conn)
        .optional()?)
}

pub fn set(conn: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    conn.transaction(|conn| {
        diesel::delete(bridge_settings::table.filter(bridge_settings::key.eq(key))).execute(conn)?;
        diesel::insert_into(bridge_settings::table)
            .values((bridge_settings::key.eq(key), bridge_settings::value.eq(value)))
            .execute(conn)?;
        Ok(())
    })
}

/// Stores a setting unless one is there already (a concurrent first writer wins).
pub fn insert_if_absent(conn: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    let inserted = diesel::insert_into(bridge_settings::table)
        .values((bridge_settings::key.eq(key), bridge_settings::value.eq(value)))
        .execute(conn);
    if already_there(&inserted) {
        return Ok(());
    }
    inserted?;
    Ok(())
}
