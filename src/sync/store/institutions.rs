//! `online_institutions`: the banks the aggregators offer, refreshed from their lists, each with the
//! aggregator it belongs to.

use diesel::prelude::*;

use super::stored_text;
use crate::db::schema::online_institutions;
use crate::db::AnyConnection;
use crate::error::Result;
use crate::orm::sql::{Sql, SqlKind, SqlValue};
use crate::types::time::now_string;
use crate::types::Provider;

/// A bank as an aggregator lists it, in this table's terms (each aggregator maps its own list to these).
#[derive(Clone, Debug, PartialEq)]
pub struct InstitutionRecord {
    pub provider: Provider,
    /// Unique across aggregators.
    pub code: String,
    pub name: String,
    pub country_code: String,
    /// `active`, `inactive` or `disabled`; anything else is not stored.
    pub status: Option<String>,
    /// `oauth`, `web`, `api` or `file`; anything else is not stored.
    pub mode: Option<String>,
    pub max_consent_days: Option<i64>,
    pub supported_fetch_scopes: Vec<String>,
    pub logo_url: Option<String>,
}

/// A stored institution, as the sync engine needs it.
#[derive(Clone, Debug, PartialEq, Queryable)]
pub struct Institution {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub country_code: Option<String>,
    pub max_consent_days: Option<i64>,
    provider: String,
}

impl Institution {
    /// Its aggregator; a value outside the selection (written by hand in the database) reads as Salt
    /// Edge, the aggregator of every institution stored before there were two.
    pub fn provider(&self) -> Provider {
        Provider::parse(&self.provider).unwrap_or(Provider::SaltEdge)
    }
}

/// The institution with this code.
pub fn by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Institution>> {
    Ok(online_institutions::table
        .filter(online_institutions::code.eq(code))
        .select((
            online_institutions::id,
            online_institutions::name,
            online_institutions::code,
            online_institutions::country_code,
            online_institutions::max_consent_days,
            online_institutions::provider,
        ))
        .first(conn)
        .optional()?)
}

/// Inserts new institutions and refreshes known ones; returns how many were new. One write transaction
/// (`BEGIN IMMEDIATE` on SQLite: it queues for the write lock instead of failing when another writer, such
/// as the scheduler's first cycle, commits between a read and a write), and one `INSERT … ON CONFLICT`
/// per institution, so two processes refreshing at once (replicas starting together) never collide on a
/// code.
pub fn upsert(conn: &mut AnyConnection, institutions: &[InstitutionRecord]) -> Result<usize> {
    crate::db::write_transaction(conn, |conn| {
        let before: i64 = online_institutions::table.count().get_result(conn)?;
        let now = now_string();
        for institution in institutions {
            let code = stored_text(&institution.code);
            let name = if institution.name.is_empty() { code.clone() } else { stored_text(&institution.name) };
            let status =
                institution.status.clone().filter(|s| matches!(s.as_str(), "active" | "inactive" | "disabled"));
            let mode = institution.mode.clone().filter(|m| matches!(m.as_str(), "oauth" | "web" | "api" | "file"));
            let text = |value: Option<String>| value.map_or(SqlValue::Null(SqlKind::Text), SqlValue::Text);
            let columns = [
                ("code", SqlValue::Text(code)),
                ("name", SqlValue::Text(name)),
                ("country_code", SqlValue::Text(stored_text(&institution.country_code.to_uppercase()))),
                ("status", text(status)),
                ("mode", text(mode)),
                ("max_consent_days", institution.max_consent_days.map_or(SqlValue::Null(SqlKind::Int), SqlValue::Int)),
                ("supported_fetch_scopes", SqlValue::Text(stored_text(&institution.supported_fetch_scopes.join(",")))),
                ("logo_url", text(institution.logo_url.as_deref().map(stored_text))),
                ("provider", SqlValue::Text(institution.provider.as_str().to_string())),
                ("create_date", SqlValue::Text(now.clone())),
                ("write_date", SqlValue::Text(now.clone())),
            ];
            let mut sql = Sql::new(conn.backend());
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            sql.push(&format!("INSERT INTO online_institutions ({}) VALUES (", names.join(", ")));
            for (i, (_, value)) in columns.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(value);
            }
            let refreshed = names.iter().filter(|n| !matches!(**n, "code" | "create_date"));
            let set: Vec<String> = refreshed.map(|n| format!("{n} = excluded.{n}")).collect();
            sql.push(&format!(") ON CONFLICT (code) DO UPDATE SET {}", set.join(", ")));
            sql.execute(conn)?;
        }
        let after: i64 = online_institutions::table.count().get_result(conn)?;
        Ok(usize::try_from(after - before).unwrap_or(0))
    })
}
