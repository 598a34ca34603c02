//! The scheduler's leases on links (`online_links.sync_claimed_by`, `sync_claimed_until`): several
//! replicas share the due links and never fetch the same one at once.

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
    sql.push(")) AND connection_identifier IS NOT NULL AND (sync_claimed_until IS NULL OR sync_claimed_until < ");
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
