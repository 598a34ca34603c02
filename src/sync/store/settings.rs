//! `bridge_settings`: the bridge's own key-value settings (installation id, sandbox URL, each company's
//! Odoo origin).

use diesel::prelude::*;

use super::already_there;
use crate::db::schema::bridge_settings;
use crate::db::AnyConnection;
use crate::error::Result;
use crate::orm::sql::{Sql, SqlValue};

pub fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(bridge_settings::table
        .filter(bridge_settings::key.eq(key))
        .select(bridge_settings::value)
        .first(conn)
        .optional()?)
}

/// One statement, so two processes setting the same key at once (replicas starting together) do not
/// collide on it: the last one wins.
pub fn set(conn: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    let mut sql = Sql::new(conn.backend());
    sql.push("INSERT INTO bridge_settings (key, value) VALUES (");
    sql.bind(SqlValue::Text(key.to_string()));
    sql.push(", ");
    sql.bind(SqlValue::Text(value.to_string()));
    sql.push(") ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    sql.execute(conn)?;
    Ok(())
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
