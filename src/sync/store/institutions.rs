//! `online_institutions`: the banks the aggregators offer, refreshed from their lists, each with the
//! aggregator it belongs to.

use diesel::prelude::*;

use super::stored_text;
use crate::db::schema::online_institutions;
use crate::db::AnyConnection;
use crate::error::Result;
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

/// Inserts new institutions and refreshes known ones; returns how many were new.
pub fn upsert(conn: &mut AnyConnection, institutions: &[InstitutionRecord]) -> Result<usize> {
    conn.transaction(|conn| {
        let mut added = 0;
        let now = now_string();
        for institution in institutions {
            let code = stored_text(&institution.code);
            let known = online_institutions::table
                .filter(online_institutions::code.eq(&code))
                .select(online_institutions::id)
                .first::<i64>(conn)
                .optional()?;
            let name = if institution.name.is_empty() { code.clone() } else { stored_text(&institution.name) };
            let status =
                institution.status.clone().filter(|s| matches!(s.as_str(), "active" | "inactive" | "disabled"));
            let mode = institution.mode.clone().filter(|m| matches!(m.as_str(), "oauth" | "web" | "api" | "file"));
            let values = (
                online_institutions::name.eq(name),
                online_institutions::country_code.eq(stored_text(&institution.country_code.to_uppercase())),
                online_institutions::status.eq(status),
                online_institutions::mode.eq(mode),
                online_institutions::max_consent_days.eq(institution.max_consent_days),
                online_institutions::supported_fetch_scopes
                    .eq(stored_text(&institution.supported_fetch_scopes.join(","))),
                online_institutions::logo_url.eq(institution.logo_url.as_deref().map(stored_text)),
                online_institutions::provider.eq(institution.provider.as_str()),
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
