//! `online_links`: the bank links as the sync engine reads and writes them.

use diesel::prelude::*;

use super::{return_states, stored_text};
use crate::db::schema::online_links;
use crate::db::{AnyConnection, Backend};
use crate::error::{Error, Result};
use crate::orm::sql::{Sql, SqlValue};
use chrono::{DateTime, Utc};

use crate::enablebanking::plan::{self, Asker, PlannedReads};
use crate::types::time::{datetime_string, now_string, parse_stored_datetime};
use crate::types::{LinkEvent, LinkFacts, LinkState, Provider, Refused};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = online_links)]
pub struct LinkRow {
    pub id: i64,
    pub name: Option<String>,
    pub provider_code: Option<String>,
    pub state: String,
    pub company_id: i64,
    pub client_id: Option<String>,
    pub connection_identifier: Option<String>,
    pub error_message: Option<String>,
    pub next_refresh_possible_at: Option<String>,
    pub auto_sync: bool,
    pub return_url: Option<String>,
    pub renewal_contact_email: Option<String>,
    pub renewal_contact_phone: Option<String>,
    pub write_date: Option<String>,
    pub provider: String,
    /// Enable Banking: when the reads made without the user that still count were made (JSON list).
    pub bank_reads: Option<String>,
    /// Enable Banking: when the accounts' balances were last read.
    pub balances_read_at: Option<String>,
}

impl LinkRow {
    /// Its aggregator; a value outside the selection reads as Salt Edge, the aggregator of every link
    /// stored before there were two.
    pub fn provider(&self) -> Provider {
        Provider::parse(&self.provider).unwrap_or(Provider::SaltEdge)
    }

    /// The stored state; a value outside the selection (written by hand in the database) reads as
    /// disconnected, which asks the user to connect again rather than acting on it.
    pub fn state(&self) -> LinkState {
        LinkState::parse(&self.state).unwrap_or(LinkState::Disconnected)
    }

    pub fn label(&self) -> String {
        self.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| format!("bank connection {}", self.id))
    }
}

/// A link of the given company (`None`: any company, for verified Salt Edge callbacks).
pub fn load(conn: &mut AnyConnection, id: i64, company: Option<i64>) -> Result<LinkRow> {
    let mut query = online_links::table.filter(online_links::id.eq(id)).select(LinkRow::as_select()).into_boxed();
    if let Some(company) = company {
        query = query.filter(online_links::company_id.eq(company));
    }
    query.first::<LinkRow>(conn).optional()?.ok_or_else(|| {
        Error::missing(format!("Record does not exist or has been deleted.\n(Record: account.online.link({id}))"))
    })
}

/// Any company's link by id, for verified callbacks and return states (which carry the company).
pub fn load_if_exists(conn: &mut AnyConnection, id: i64) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::id.eq(id))
        .select(LinkRow::as_select())
        .first::<LinkRow>(conn)
        .optional()?)
}

/// A link of the company, or `None` when there is none with this id in it.
pub fn find(conn: &mut AnyConnection, id: i64, company: i64) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::id.eq(id))
        .filter(online_links::company_id.eq(company))
        .select(LinkRow::as_select())
        .first::<LinkRow>(conn)
        .optional()?)
}

/// The company's links among `ids` that have a connection at Salt Edge, in one query per 10,000 ids
/// (`unlink` of 30,000 links made a round trip per id).
pub fn with_connection(conn: &mut AnyConnection, ids: &[i64], company: i64) -> Result<Vec<LinkRow>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(10_000) {
        found.extend(
            online_links::table
                .filter(online_links::id.eq_any(chunk))
                .filter(online_links::company_id.eq(company))
                .filter(online_links::connection_identifier.is_not_null())
                .select(LinkRow::as_select())
                .load::<LinkRow>(conn)?,
        );
    }
    Ok(found)
}

pub fn by_connection(conn: &mut AnyConnection, connection_id: &str) -> Result<Option<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::connection_identifier.eq(connection_id))
        .select(LinkRow::as_select())
        .order(online_links::id)
        .first::<LinkRow>(conn)
        .optional()?)
}

/// The company's other links holding a live connection to the same provider and customer.
pub fn other_live_links(
    conn: &mut AnyConnection,
    link: &LinkRow,
    provider_code: &str,
    customer_id: &str,
) -> Result<Vec<LinkRow>> {
    Ok(online_links::table
        .filter(online_links::company_id.eq(link.company_id))
        .filter(online_links::id.ne(link.id))
        .filter(online_links::provider_code.eq(provider_code))
        .filter(online_links::client_id.eq(customer_id))
        .filter(online_links::connection_identifier.is_not_null())
        .select(LinkRow::as_select())
        .order(online_links::id)
        .load::<LinkRow>(conn)?)
}

/// The links `bankbridge sync` fetches by default: those holding a connection the user did not
/// disconnect (revoke).
pub fn ids_to_sync(conn: &mut AnyConnection) -> Result<Vec<i64>> {
    Ok(online_links::table
        .filter(online_links::connection_identifier.is_not_null())
        .filter(online_links::state.ne(LinkState::Disconnected.as_str()))
        .select(online_links::id)
        .order(online_links::id)
        .load(conn)?)
}

/// Changes to a link's columns other than its state (which only [`record`] moves); `None` leaves a column
/// as it is, `Some(None)` clears it.
#[derive(Default, AsChangeset)]
#[diesel(table_name = online_links)]
pub struct LinkUpdate {
    pub name: Option<Option<String>>,
    pub institution_id: Option<Option<i64>>,
    pub provider_code: Option<Option<String>>,
    pub client_id: Option<Option<String>>,
    pub connection_identifier: Option<Option<String>>,
    pub error_message: Option<Option<String>>,
    pub last_refresh: Option<Option<String>>,
    pub next_refresh: Option<Option<String>>,
    pub next_refresh_possible_at: Option<Option<String>>,
    pub expiring_synchronization_date: Option<Option<String>>,
    pub renewal_contact_email: Option<Option<String>>,
    pub renewal_contact_phone: Option<Option<String>>,
    pub return_url: Option<Option<String>>,
    pub has_unlinked_accounts: Option<bool>,
    pub write_date: Option<Option<String>>,
    pub sync_progress: Option<Option<String>>,
    pub provider: Option<String>,
    pub bank_reads: Option<Option<String>>,
    pub balances_read_at: Option<Option<String>>,
}

impl LinkUpdate {
    /// Every text column cleaned (names, messages and stage text come from the bank or the aggregator),
    /// and the write stamped.
    fn stored(mut self) -> LinkUpdate {
        let clean = |column: &mut Option<Option<String>>| {
            if let Some(Some(text)) = column {
                *text = stored_text(text);
            }
        };
        for column in [
            &mut self.name,
            &mut self.provider_code,
            &mut self.client_id,
            &mut self.connection_identifier,
            &mut self.error_message,
            &mut self.renewal_contact_email,
            &mut self.renewal_contact_phone,
            &mut self.return_url,
            &mut self.sync_progress,
        ] {
            clean(column);
        }
        self.write_date = Some(Some(now_string()));
        self
    }
}

/// Writes columns other than the state (setting up a link before its first attempt, the next refresh
/// time, the accounts' summary).
pub fn update(conn: &mut AnyConnection, id: i64, update: LinkUpdate) -> Result<()> {
    diesel::update(online_links::table.filter(online_links::id.eq(id))).set(update.stored()).execute(conn)?;
    Ok(())
}

/// What happened to a link, to [`record`]: the event, the message the user reads for a failure, a
/// revoke or a removal, and the columns the event sets besides the state.
pub struct Change {
    pub event: LinkEvent,
    pub message: Option<String>,
    pub columns: LinkUpdate,
}

impl Change {
    pub fn new(event: LinkEvent) -> Change {
        Change { event, message: None, columns: LinkUpdate::default() }
    }

    pub fn message(mut self, message: impl Into<String>) -> Change {
        self.message = Some(message.into());
        self
    }

    pub fn columns(mut self, columns: LinkUpdate) -> Change {
        self.columns = columns;
        self
    }
}

/// Locks the link's row until the transaction ends, so that two changes of its state (a callback and a
/// follower, two replicas) are decided one after the other. SQLite's `BEGIN IMMEDIATE` has locked the
/// whole database already.
fn lock(conn: &mut AnyConnection, id: i64) -> Result<()> {
    if conn.backend() == Backend::Postgres {
        let mut sql = Sql::new(Backend::Postgres);
        sql.push("SELECT id FROM online_links WHERE id = ");
        sql.bind(SqlValue::Int(id));
        sql.push(" FOR UPDATE");
        sql.load_ids(conn)?;
    }
    Ok(())
}

/// What the transition function needs of a link besides its state.
pub fn facts(conn: &mut AnyConnection, link: &LinkRow) -> Result<LinkFacts> {
    Ok(LinkFacts {
        has_connection: link.connection_identifier.is_some(),
        attempt_awaited: link.state() == LinkState::Disconnected && return_states::awaited(conn, link.id)?,
    })
}

/// The one writer of a link's state: applies `change` when the transition function
/// (`LinkState::after`) allows its event, else logs the refusal and leaves the link as it is. The
/// event also decides what the user reads: a new attempt or a success clears the last error, a
/// failure, a revoke or a removal shows the change's message; a revoke or a removal also forgets the
/// attempts the user started on the link, so that nothing they report later moves it.
pub fn record(conn: &mut AnyConnection, id: i64, change: Change) -> Result<std::result::Result<LinkState, Refused>> {
    let Change { event, message, mut columns } = change;
    crate::db::write_transaction(conn, |conn| {
        lock(conn, id)?;
        let link = load(conn, id, None)?;
        let mut facts = facts(conn, &link)?;
        if let Some(connection) = &columns.connection_identifier {
            facts.has_connection = connection.is_some();
        }
        let to = match link.state().after(event, facts) {
            Ok(to) => to,
            Err(refused) => {
                tracing::info!(link = id, %refused, "link state change refused");
                return Ok(Err(refused));
            }
        };
        match event {
            LinkEvent::AttemptStarted(_) => {
                columns.error_message = Some(None);
                columns.sync_progress.get_or_insert(Some("Synchronization started.".to_string()));
            }
            LinkEvent::Progressed => {}
            LinkEvent::Succeeded => {
                columns.error_message = Some(None);
                columns.sync_progress = Some(None);
            }
            LinkEvent::Failed(_) | LinkEvent::Revoked | LinkEvent::Removed => {
                columns.error_message = Some(message);
                columns.sync_progress = Some(None);
            }
        }
        if matches!(event, LinkEvent::Revoked | LinkEvent::Removed) {
            return_states::forget_link(conn, id)?;
        }
        // The state read above is still the state written over (the row is locked); the guard says so.
        let written = diesel::update(
            online_links::table.filter(online_links::id.eq(id)).filter(online_links::state.eq(&link.state)),
        )
        .set((online_links::state.eq(to.as_str()), columns.stored()))
        .execute(conn)?;
        if written == 0 {
            return Err(Error::application(format!(
                "account.online.link({id}) changed while its state was being recorded; try again."
            )));
        }
        if to != LinkState::Fetching {
            // No attempt runs any more: nothing to follow, nothing to take over.
            super::claims::release_follow(conn, id)?;
        }
        Ok(Ok(to))
    })
}

/// The reads without the user that still count against the bank's daily limit, as stored on the link
/// (Enable Banking; a JSON list of stored datetimes).
pub fn counted_reads(link: &LinkRow) -> Vec<DateTime<Utc>> {
    let stored: Vec<String> =
        link.bank_reads.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    stored.iter().filter_map(|at| parse_stored_datetime(at)).collect()
}

/// Takes the reads a fetch of an Enable Banking link may make at `now` (`enablebanking::plan`), under the
/// link's row lock so that two processes never both take the day's last read: the reads are counted on
/// the link before any is made. `Err(at)`: none now, the next at `at` (a time the bank itself gave, or the
/// plan's).
pub fn take_reads(
    conn: &mut AnyConnection,
    id: i64,
    now: DateTime<Utc>,
    asker: Asker,
) -> Result<std::result::Result<PlannedReads, DateTime<Utc>>> {
    crate::db::write_transaction(conn, |conn| {
        lock(conn, id)?;
        let link = load(conn, id, None)?;
        if let Some(refused_until) = link.next_refresh_possible_at.as_deref().and_then(parse_stored_datetime) {
            if refused_until > now + plan::CLOCK_MARGIN {
                return Ok(Err(refused_until));
            }
        }
        let reads = counted_reads(&link);
        let last_balances = link.balances_read_at.as_deref().and_then(parse_stored_datetime);
        let planned = match plan::plan(now, asker, &reads, last_balances) {
            Ok(planned) => planned,
            Err(until) => return Ok(Err(until)),
        };
        let counted: Vec<String> =
            plan::remember(now, &reads, planned.count()).into_iter().map(datetime_string).collect();
        let columns = LinkUpdate {
            bank_reads: Some(Some(serde_json::to_string(&counted).unwrap_or_default())),
            balances_read_at: planned.balances.then(|| Some(datetime_string(now))),
            ..Default::default()
        };
        update(conn, id, columns)?;
        Ok(Ok(planned))
    })
}

/// How many links are in each state, over every company (for the metrics).
pub fn count_by_state(conn: &mut AnyConnection) -> Result<Vec<(LinkState, i64)>> {
    let counts: Vec<(String, i64)> = online_links::table
        .group_by(online_links::state)
        .select((online_links::state, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().filter_map(|(state, n)| LinkState::parse(&state).map(|s| (s, n))).collect())
}

/// Whether the link still has accounts that no Odoo journal receives.
pub fn set_has_unlinked_accounts(conn: &mut AnyConnection, id: i64, unlinked: bool) -> Result<()> {
    update(conn, id, LinkUpdate { has_unlinked_accounts: Some(unlinked), ..Default::default() })
}

pub struct NewLink<'a> {
    pub provider: Provider,
    pub company_id: i64,
    pub name: &'a str,
    pub institution_id: Option<i64>,
    pub provider_code: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
}

pub fn create(conn: &mut AnyConnection, link: NewLink<'_>) -> Result<i64> {
    let now = now_string();
    Ok(diesel::insert_into(online_links::table)
        .values((
            online_links::company_id.eq(link.company_id),
            online_links::provider.eq(link.provider.as_str()),
            online_links::name.eq(stored_text(link.name)),
            online_links::institution_id.eq(link.institution_id),
            online_links::provider_code.eq(stored_text(link.provider_code)),
            online_links::renewal_contact_email.eq(stored_text(link.email)),
            online_links::renewal_contact_phone.eq(link.phone.map(stored_text)),
            online_links::create_date.eq(&now),
            online_links::write_date.eq(&now),
        ))
        .returning(online_links::id)
        .get_result::<i64>(conn)?)
}
