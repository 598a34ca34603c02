//! `saltedge_return_states`: the one-time `state` of an attempt's return URL, stored as its hash only,
//! with the link, company and kind of attempt it was issued for.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::saltedge_return_states;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::types::time::datetime_string;

/// What a connect/reconnect/refresh return URL was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    Connect,
    Reconnect,
    Refresh,
}

impl AttemptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptKind::Connect => "connect",
            AttemptKind::Reconnect => "reconnect",
            AttemptKind::Refresh => "refresh",
        }
    }

    pub fn parse(text: &str) -> Option<AttemptKind> {
        [AttemptKind::Connect, AttemptKind::Reconnect, AttemptKind::Refresh].into_iter().find(|k| k.as_str() == text)
    }
}

/// One attempt's return URL `state`, as stored (the token itself is never stored, only its hash).
#[derive(Clone, Debug)]
pub struct ReturnState {
    pub link_id: i64,
    pub company_id: i64,
    pub kind: AttemptKind,
    pub return_to: Option<String>,
    /// What the aggregator knows the attempt's authorization by, once it answered (Enable Banking: the
    /// `psu_id_hash` of `POST /auth`), to check the session a returned code opens against.
    pub authorization_ref: Option<String>,
}

pub fn save(conn: &mut AnyConnection, state_hash: &str, state: &ReturnState, lifetime: Duration) -> Result<()> {
    let now = Utc::now();
    diesel::insert_into(saltedge_return_states::table)
        .values((
            saltedge_return_states::state_hash.eq(state_hash),
            saltedge_return_states::link_id.eq(state.link_id),
            saltedge_return_states::company_id.eq(state.company_id),
            saltedge_return_states::kind.eq(state.kind.as_str()),
            saltedge_return_states::return_to.eq(state.return_to.as_deref()),
            saltedge_return_states::authorization_ref.eq(state.authorization_ref.as_deref()),
            saltedge_return_states::created_at.eq(datetime_string(now)),
            saltedge_return_states::expires_at.eq(datetime_string(now + lifetime)),
        ))
        .execute(conn)?;
    // Expired states are of no use to anyone: drop them as new ones are issued.
    diesel::delete(saltedge_return_states::table.filter(saltedge_return_states::expires_at.lt(datetime_string(now))))
        .execute(conn)?;
    Ok(())
}

/// Records what the aggregator knows the attempt's authorization by (see [`ReturnState`]).
pub fn set_authorization_ref(conn: &mut AnyConnection, state_hash: &str, reference: &str) -> Result<()> {
    diesel::update(saltedge_return_states::table.filter(saltedge_return_states::state_hash.eq(state_hash)))
        .set(saltedge_return_states::authorization_ref.eq(reference))
        .execute(conn)?;
    Ok(())
}

/// Uses a return `state` once: `None` when it is unknown, expired or already used. The update is the
/// claim, so two concurrent uses cannot both succeed.
pub fn use_once(conn: &mut AnyConnection, state_hash: &str) -> Result<Option<ReturnState>> {
    let now = datetime_string(Utc::now());
    let claimed = diesel::update(
        saltedge_return_states::table
            .filter(saltedge_return_states::state_hash.eq(state_hash))
            .filter(saltedge_return_states::used_at.is_null())
            .filter(saltedge_return_states::expires_at.gt(&now)),
    )
    .set(saltedge_return_states::used_at.eq(&now))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(None);
    }
    let (link_id, company_id, kind, return_to, authorization_ref) = saltedge_return_states::table
        .filter(saltedge_return_states::state_hash.eq(state_hash))
        .select((
            saltedge_return_states::link_id,
            saltedge_return_states::company_id,
            saltedge_return_states::kind,
            saltedge_return_states::return_to,
            saltedge_return_states::authorization_ref,
        ))
        .first::<(i64, i64, String, Option<String>, Option<String>)>(conn)?;
    let kind = AttemptKind::parse(&kind)
        .ok_or_else(|| Error::application(format!("stored return state of unknown kind {kind:?}")))?;
    Ok(Some(ReturnState { link_id, company_id, kind, return_to, authorization_ref }))
}

/// Whether the user started an attempt on the link whose return URL has not expired yet (used or not:
/// the aggregator may still report on it after the browser came back).
pub fn awaited(conn: &mut AnyConnection, link_id: i64) -> Result<bool> {
    let now = datetime_string(Utc::now());
    let count: i64 = saltedge_return_states::table
        .filter(saltedge_return_states::link_id.eq(link_id))
        .filter(saltedge_return_states::expires_at.gt(&now))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Forgets every attempt the user started on the link (it was revoked or removed): their return URLs
/// stop working and nothing they report moves the link any more.
pub fn forget_link(conn: &mut AnyConnection, link_id: i64) -> Result<()> {
    diesel::delete(saltedge_return_states::table.filter(saltedge_return_states::link_id.eq(link_id))).execute(conn)?;
    Ok(())
}
