//! `online_links`: the bank links as the sync engine reads and writes them.

use diesel::prelude::*;

use super::stored_text;
use crate::db::schema::online_links;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::types::time::now_string;
use crate::types::LinkState;

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
}

impl LinkRow {
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

/// Every link id, or those holding a connection (for `bankbridge sync`).
pub fn ids(conn: &mut AnyConnection, only_connected: bool) -> Result<Vec<i64>> {
    let mut query = online_links::table.select(online_links::id).order(online_links::id).into_boxed();
    if only_connected {
        query = query.filter(online_links::connection_identifier.is_not_null());
    }
    Ok(query.load(conn)?)
}

/// Changes to a link's columns; `None` leaves a column as it is, `Some(None)` clears it.
#[derive(Default, AsChangeset)]
#[diesel(table_name = online_links)]
pub struct LinkUpdate {
    pub name: Option<Option<String>>,
    pub institution_id: Option<Option<i64>>,
    pub provider_code: Option<Option<String>>,
    pub state: Option<String>,
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
}

impl LinkUpdate {
    /// The link moves to `state` with `message` for the user (`None` clears it).
    pub fn to_state(state: LinkState, message: Option<String>) -> LinkUpdate {
        LinkUpdate {
            state: Some(state.as_str().to_string()),
            error_message: Some(message),
            sync_progress: Some(match state {
                LinkState::Fetching => Some("Synchronization started.".to_string()),
                _ => None,
            }),
            ..Default::default()
        }
    }

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

pub fn update(conn: &mut AnyConnection, id: i64, update: LinkUpdate) -> Result<()> {
    diesel::update(online_links::table.filter(online_links::id.eq(id))).set(update.stored()).execute(conn)?;
    Ok(())
}

/// Ends a synchronization on the link, unless the user disconnected it meanwhile (revoke, remove): a
/// late result must not bring back a link the user has just cut off.
pub fn finish(conn: &mut AnyConnection, id: i64, update: LinkUpdate) -> Result<()> {
    diesel::update(
        online_links::table
            .filter(online_links::id.eq(id))
            .filter(online_links::state.ne(LinkState::Disconnected.as_str())),
    )
    .set(update.stored())
    .execute(conn)?;
    Ok(())
}

/// Whether the link still has accounts that no Odoo journal receives.
pub fn set_has_unlinked_accounts(conn: &mut AnyConnection, id: i64, unlinked: bool) -> Result<()> {
    update(conn, id, LinkUpdate { has_unlinked_accounts: Some(unlinked), ..Default::default() })
}

pub struct NewLink<'a> {
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
