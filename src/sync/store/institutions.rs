//! `online_institutions`: the banks the aggregator offers, refreshed from its provider list.

use diesel::prelude::*;

use super::stored_text;
use crate::db::schema::online_institutions;
use crate::db::AnyConnection;
use crate::error::Result;
use crate::saltedge::Provider;
use crate::types::time::now_string;

/// `(id, name)` of the institution with this provider code.
pub fn by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<(i64, String)>> {
    Ok(online_institutions::table
        .filter(online_institutions::code.eq(code))
        .select((online_institutions::id, online_institutions::name))
        .first(conn)
        .optional()?)
}

/// Inserts new providers and refreshes known ones; returns how many were new.
pub fn upsert(conn: &mut AnyConnection, providers: &[Provider]) -> Result<usize> {
    conn.transaction(|conn| {
        let mut added = 0;
        let now = now_string();
        for p in providers {
            let code = stored_text(&p.code);
            let known = online_institutions::table
                .filter(online_institutions::code.eq(&code))
                .select(online_institutions::id)
                .first::<i64>(conn)
                .optional()?;
            let name = if p.name.is_empty() { code.clone() } else { stored_text(&p.name) };
            let status = p.status.clone().filter(|s| matches!(s.as_str(), "active" | "inactive" | "disabled"));
            let mode = p.mode.clone().filter(|m| matches!(m.as_str(), "oauth" | "web" | "api" | "file"));
            let values = (
                online_institutions::name.eq(name),
                online_institutions::country_code.eq(stored_text(&p.country_code.to_uppercase())),
                online_institutions::status.eq(status),
                online_institutions::mode.eq(mode),
                online_institutions::max_consent_days.eq(p.max_consent_days.map(i64::from)),
                online_institutions::supported_fetch_scopes.eq(stored_text(&p.supported_fetch_scopes.join(","))),
                online_institutions::logo_url.eq(p.logo_url.as_deref().map(stored_text)),
                online_institutions::write_date.eq(now.clone()),
            );
            match known {
                Some(id) => {
                    diesel::update(online_institutions::table.filter(online_institutions::id.eq(id)))
                        .set(values)
                        .execute(conn)?;
                }
                None => {
                    diesel::insert_into(online_institutions::table)
                        .values((
                            online_institutions::code.eq(&code),
                            online_institutions::create_date.eq(now.clone()),
                            values,
                        ))
                        .execute(conn)?;
                    added += 1;
                }
            }
        }
        Ok(added)
    })
}
