//! Leases on links, so that several replicas share the work and none is lost when one dies:
//! * the scheduler's (`online_links.sync_claimed_by`, `sync_claimed_until`): the replicas share the due
//!   links and never fetch the same one at once;
//! * the follower's (`followed_by`, `followed_until`, `follow_marker`): the process that follows a link's
//!   running attempt renews it on every poll and page; once it is not renewed (the process died), another
//!   process takes the attempt over from where `follow_marker` says.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::online_links;
use crate::db::{AnyConnection, Backend};
use crate::error::Result;
use crate::orm::sql::{Sql, SqlValue};
use crate::types::time::datetime_string;
use crate::types::Provider;

/// Claims one `auto_sync` link due for a scheduled fetch (last refreshed before `due_before`; an Enable
/// Banking link also not before its `next_refresh`, which keeps to the bank's daily read limit) for
/// `lease`. PostgreSQL skips rows another replica is claiming (`FOR UPDATE SKIP LOCKED`); SQLite has a
/// single writer, so the statement is atomic as it is. A link left `fetching` by a process that died
/// (not written since `stale_fetching_before`) is due again.
pub fn claim_due(
    conn: &mut AnyConnection,
    worker: &str,
    lease: Duration,
    due_before: DateTime<Utc>,
    stale_fetching_before: DateTime<Utc>,
) -> Result<Option<i64>> {
    let now = Utc::now();
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE online_links SET sync_claimed_by = ");
    sql.bind(SqlValue::Text(worker.to_string()));
    sql.push(", sync_claimed_until = ");
    sql.bind(SqlValue::Text(datetime_string(now + lease)));
    sql.push(" WHERE id = (SELECT id FROM online_links WHERE auto_sync = ");
    sql.bind(SqlValue::Bool(true));
    sql.push(" AND (state = 'connected' OR (state = 'fetching' AND write_date < ");
    sql.bind(SqlValue::Text(datetime_string(stale_fetching_before)));
    // A link whose follower still renews its lease is followed, not stale; one whose lease ran out is the
    // takeover's (`claim_orphan`), which finishes its attempt instead of starting another.
    sql.push(" AND followed_until IS NULL)) AND connection_identifier IS NOT NULL AND (sync_claimed_until IS NULL OR sync_claimed_until < ");
    sql.bind(SqlValue::Text(datetime_string(now)));
    sql.push(") AND (last_refresh IS NULL OR last_refresh < ");
    sql.bind(SqlValue::Text(datetime_string(due_before)));
    sql.push(") AND (provider <> ");
    sql.bind(SqlValue::Text(Provider::EnableBanking.as_str().to_string()));
    sql.push(" OR next_refresh IS NULL OR next_refresh <= ");
    sql.bind(SqlValue::Text(datetime_string(now)));
    sql.push(") ORDER BY last_refresh NULLS FIRST, id LIMIT 1");
    if conn.backend() == Backend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") RETURNING id");
    Ok(sql.load_ids(conn)?.first().copied())
}

pub fn release(conn: &mut AnyConnection, link_id: i64) -> Result<()> {
    diesel::update(online_links::table.filter(online_links::id.eq(link_id)))
        .set((online_links::sync_claimed_by.eq(None::<String>), online_links::sync_claimed_until.eq(None::<String>)))
        .execute(conn)?;
    Ok(())
}

/// Keeps a link claimed for `more` (after a failed scheduled fetch: retried a cycle later).
pub fn hold(conn: &mut AnyConnection, link_id: i64, more: Duration) -> Result<()> {
    diesel::update(online_links::table.filter(online_links::id.eq(link_id)))
        .set(online_links::sync_claimed_until.eq(Some(datetime_string(Utc::now() + more))))
        .execute(conn)?;
    Ok(())
}

/// Takes the follower's lease of a link for `worker` until `lease` from now: when nobody holds it, it ran
/// out or `worker` holds it already; always when `force` (`bankbridge sync`, run by an operator). (The
/// lease is ended when the link leaves `fetching`; a process that takes it and fails before marking the
/// link `fetching` records that failure, which ends it too.)
/// Whether it was taken.
pub fn take_follow(conn: &mut AnyConnection, link_id: i64, worker: &str, lease: Duration, force: bool) -> Result<bool> {
    let now = Utc::now();
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE online_links SET followed_by = ");
    sql.bind(SqlValue::Text(worker.to_string()));
    sql.push(", followed_until = ");
    sql.bind(SqlValue::Text(datetime_string(now + lease)));
    sql.push(", follow_marker = NULL WHERE id = ");
    sql.bind(SqlValue::Int(link_id));
    if !force {
        sql.push(" AND (followed_by IS NULL OR followed_until IS NULL OR followed_until < ");
        sql.bind(SqlValue::Text(datetime_string(now)));
        sql.push(" OR followed_by = ");
        sql.bind(SqlValue::Text(worker.to_string()));
        sql.push(")");
    }
    Ok(sql.execute(conn)? > 0)
}

/// Records where a taker resumes the attempt `worker` follows (`follow_marker`).
pub fn set_follow_marker(conn: &mut AnyConnection, link_id: i64, worker: &str, marker: &str) -> Result<()> {
    diesel::update(
        online_links::table.filter(online_links::id.eq(link_id)).filter(online_links::followed_by.eq(worker)),
    )
    .set(online_links::follow_marker.eq(marker))
    .execute(conn)?;
    Ok(())
}

/// Renews `worker`'s lease; false when it holds it no longer (another process took the attempt over, or
/// the link left `fetching`).
pub fn renew_follow(conn: &mut AnyConnection, link_id: i64, worker: &str, lease: Duration) -> Result<bool> {
    let renewed = diesel::update(
        online_links::table.filter(online_links::id.eq(link_id)).filter(online_links::followed_by.eq(worker)),
    )
    .set(online_links::followed_until.eq(datetime_string(Utc::now() + lease)))
    .execute(conn)?;
    Ok(renewed > 0)
}

/// Ends the follower's lease (the link left `fetching`).
pub fn release_follow(conn: &mut AnyConnection, link_id: i64) -> Result<()> {
    diesel::update(online_links::table.filter(online_links::id.eq(link_id)))
        .set((
            online_links::followed_by.eq(None::<String>),
            online_links::followed_until.eq(None::<String>),
            online_links::follow_marker.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A link of `provider` left `fetching` by a follower (Salt Edge) or reader (Enable Banking) that stopped
/// renewing its lease (or, from before leases, that has not been written since `unleased_stale_before`),
/// claimed for `worker`: its id, connection and follow marker. PostgreSQL skips rows another replica is
/// claiming.
pub fn claim_orphan(
    conn: &mut AnyConnection,
    provider: Provider,
    worker: &str,
    lease: Duration,
    unleased_stale_before: DateTime<Utc>,
) -> Result<Option<(i64, String, Option<String>)>> {
    let now = Utc::now();
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE online_links SET followed_by = ");
    sql.bind(SqlValue::Text(worker.to_string()));
    sql.push(", followed_until = ");
    sql.bind(SqlValue::Text(datetime_string(now + lease)));
    sql.push(" WHERE id = (SELECT id FROM online_links WHERE state = 'fetching' AND provider = ");
    sql.bind(SqlValue::Text(provider.as_str().to_string()));
    sql.push(" AND connection_identifier IS NOT NULL AND ((followed_until IS NOT NULL AND followed_until < ");
    sql.bind(SqlValue::Text(datetime_string(now)));
    sql.push(") OR (followed_until IS NULL AND write_date < ");
    sql.bind(SqlValue::Text(datetime_string(unleased_stale_before)));
    sql.push(")) ORDER BY id LIMIT 1");
    if conn.backend() == Backend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") RETURNING id");
    let Some(id) = sql.load_ids(conn)?.first().copied() else { return Ok(None) };
    let (connection, marker): (Option<String>, Option<String>) = online_links::table
        .filter(online_links::id.eq(id))
        .select((online_links::connection_identifier, online_links::follow_marker))
        .first(conn)?;
    Ok(connection.map(|connection| (id, connection, marker)))
}
