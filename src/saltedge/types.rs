//! Serde types for the Salt Edge v6 API.
//!
//! Parsing is lenient on purpose: unknown fields are ignored, almost every field is optional,
//! `null` is accepted where a default makes sense, and ids are accepted as strings or numbers
//! (Salt Edge sends strings; older fixtures and some fakes send numbers). Timestamps and dates
//! stay as the strings Salt Edge sent; helpers parse them with chrono on demand.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// `null` → `T::default()`, so `"description": null` does not fail a whole page.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An id sent as a JSON string or number.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdWire {
    Text(String),
    Number(serde_json::Number),
}

impl IdWire {
    fn into_string(self) -> String {
        match self {
            IdWire::Text(text) => text,
            IdWire::Number(number) => number.to_string(),
        }
    }
}

fn id_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(IdWire::deserialize(deserializer)?.into_string())
}

fn opt_id_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<IdWire>::deserialize(deserializer)?.map(IdWire::into_string))
}

/// Parses a Salt Edge datetime (`2021-09-14T18:04:48Z`).
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.with_timezone(&Utc))
}

/// Parses a Salt Edge date (`2021-09-14`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// `{"data": …, "meta": {…}}` — the success envelope.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Envelope<T> {
    pub data: T,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: PageMeta,
}

/// Keyset paging information: `next_id` is the id of the first record not returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PageMeta {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub next_id: Option<String>,
    #[serde(default)]
    pub next_page: Option<String>,
}

/// One page of a list endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `from_id` to get the next page; `None` on the last page.
    pub next_id: Option<String>,
}

/// `{"error": {class, message, documentation_url}, "request": {…}}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
    #[serde(default)]
    pub request: Value,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "nullable")]
    pub class: String,
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
    #[serde(default)]
    pub documentation_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Provider {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    pub code: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub country_code: String,
    /// `oauth` | `web` | `api` | `file`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `active` | `inactive` | `disabled`.
    #[serde(default)]
    pub status: Option<String>,
    /// v5 name of [`Provider::interactive_for_connections`].
    #[serde(default, deserialize_with = "nullable")]
    pub interactive: bool,
    /// v6: whether connecting asks the user for more input (an SMS code…).
    #[serde(default)]
    pub interactive_for_connections: Option<bool>,
    #[serde(default)]
    pub automatic_fetch: Option<bool>,
    #[serde(default)]
    pub regulated: Option<bool>,
    /// Minutes after a fetch before the next refresh is allowed.
    #[serde(default)]
    pub refresh_timeout: Option<u32>,
    #[serde(default)]
    pub max_consent_days: Option<u32>,
    #[serde(default)]
    pub max_fetch_interval: Option<u32>,
    #[serde(default)]
    pub home_url: Option<String>,
    #[serde(default)]
    pub login_url: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    /// v5 name of [`Provider::instruction_for_connections`].
    #[serde(default)]
    pub instruction: Option<String>,
    /// v6: what the user should know before connecting.
    #[serde(default)]
    pub instruction_for_connections: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub supported_fetch_scopes: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub supported_account_natures: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Provider {
    /// Salt Edge's fake (sandbox) providers live in the fake country `XF`.
    pub fn is_fake(&self) -> bool {
        self.country_code.eq_ignore_ascii_case("XF")
    }

    /// v6 `interactive_for_connections`, else v5 `interactive`.
    pub fn is_interactive(&self) -> bool {
        self.interactive_for_connections.unwrap_or(self.interactive)
    }

    /// v6 `instruction_for_connections`, else v5 `instruction`.
    pub fn instruction_text(&self) -> Option<&str> {
        self.instruction_for_connections.as_deref().or(self.instruction.as_deref()).filter(|s| !s.is_empty())
    }
}

/// A Salt Edge customer. v6 calls the id `customer_id`, v5 called it `id`; both are accepted.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(from = "CustomerWire")]
pub struct Customer {
    pub customer_id: String,
    pub identifier: String,
    pub blocked_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Deserialize)]
struct CustomerWire {
    #[serde(default, deserialize_with = "opt_id_string")]
    customer_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    identifier: String,
    #[serde(default)]
    blocked_at: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<CustomerWire> for Customer {
    fn from(wire: CustomerWire) -> Self {
        Customer {
            customer_id: wire.customer_id.or(wire.id).unwrap_or_default(),
            identifier: wire.identifier,
            blocked_at: wire.blocked_at,
            created_at: wire.created_at,
            updated_at: wire.updated_at,
        }
    }
}

/// Answer of connect / reconnect / refresh: where to send the user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ConnectSession {
    pub connect_url: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub customer_id: Option<String>,
}

impl ConnectSession {
    pub fn expires_at_utc(&self) -> Option<DateTime<Utc>> {
        self.expires_at.as_deref().and_then(parse_datetime)
    }
}

/// The last attempt to fetch a connection (`last_attempt`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Attempt {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub finished: Option<bool>,
    #[serde(default)]
    pub success_at: Option<String>,
    #[serde(default)]
    pub fail_at: Option<String>,
    #[serde(default)]
    pub fail_error_class: Option<String>,
    #[serde(default)]
    pub fail_message: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub fetch_scopes: Vec<String>,
    #[serde(default)]
    pub custom_fields: Value,
    #[serde(default)]
    pub unduplication_strategy: Option<String>,
    /// Where the attempt is (`fetch_accounts`, `finish`, …).
    #[serde(default)]
    pub last_stage: Option<Stage>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Connection {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub customer_identifier: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub provider_code: String,
    #[serde(default, deserialize_with = "nullable")]
    pub provider_name: String,
    #[serde(default)]
    pub country_code: Option<String>,
    /// `active` | `inactive` | `disabled`.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default)]
    pub categorization: Option<String>,
    #[serde(default)]
    pub automatic_refresh: Option<bool>,
    #[serde(default)]
    pub next_refresh_possible_at: Option<String>,
    /// v5 only; v6 reports it as `last_attempt.success_at` (see [`Connection::last_success_at`]).
    #[serde(default)]
    pub last_success_at: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub last_consent_id: Option<String>,
    #[serde(default)]
    pub last_attempt: Option<Attempt>,
    #[serde(default)]
    pub holder_info: Option<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Stage {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

impl Attempt {
    /// Finished, by the v6 flag or, where it is missing, by a success or failure time.
    pub fn is_finished(&self) -> bool {
        self.finished.unwrap_or(self.success_at.is_some() || self.fail_at.is_some())
    }

    /// Finished with a failure (`fail_at` or `fail_error_class` set, no later success).
    pub fn failed(&self) -> bool {
        self.is_finished() && (self.fail_error_class.is_some() || (self.fail_at.is_some() && self.success_at.is_none()))
    }
}

impl Connection {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// A connection that is not active can only be revived by the user (reconnect).
    pub fn needs_user(&self) -> bool {
        !self.is_active()
    }

    /// Last successful fetch, from v6 `last_attempt.success_at` or v5 `last_success_at`.
    pub fn last_success_at(&self) -> Option<DateTime<Utc>> {
        self.last_attempt
            .as_ref()
            .and_then(|attempt| attempt.success_at.as_deref())
            .or(self.last_success_at.as_deref())
            .and_then(parse_datetime)
    }

    pub fn next_refresh_possible_at_utc(&self) -> Option<DateTime<Utc>> {
        self.next_refresh_possible_at.as_deref().and_then(parse_datetime)
    }

    /// Error class of the last failed attempt, if the last attempt failed.
    pub fn fail_error_class(&self) -> Option<&str> {
        self.last_attempt.as_ref().and_then(|attempt| attempt.fail_error_class.as_deref())
    }
}

/// Answer of `DELETE /connections/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RemovedConnection {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub connection_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub removed: bool,
}

/// Answer of `POST /connections/{id}/background_refresh` (shape unverified against Salt Edge:
/// every field optional; the sandbox answers with the connection object).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct BackgroundRefresh {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub next_refresh_possible_at: Option<String>,
    #[serde(default)]
    pub last_attempt: Option<Attempt>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Consent {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub connection_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub customer_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub scopes: Vec<String>,
    /// `active` | `expired` | `revoked` (values unverified for v6).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub from_date: Option<String>,
    #[serde(default)]
    pub to_date: Option<String>,
    #[serde(default)]
    pub period_days: Option<u32>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<String>,
    #[serde(default)]
    pub collected_by: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Consent {
    pub fn expires_at_utc(&self) -> Option<DateTime<Utc>> {
        self.expires_at.as_deref().and_then(parse_datetime)
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some() || self.status.as_deref() == Some("revoked")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TransactionsCount {
    #[serde(default, deserialize_with = "nullable")]
    pub posted: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub pending: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AccountExtra {
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub swift: Option<String>,
    #[serde(default)]
    pub account_number: Option<String>,
    #[serde(default)]
    pub account_name: Option<String>,
    #[serde(default)]
    pub sort_code: Option<String>,
    #[serde(default)]
    pub holder_name: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub card_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub cards: Vec<String>,
    #[serde(default)]
    pub available_amount: Option<f64>,
    #[serde(default)]
    pub credit_limit: Option<f64>,
    #[serde(default)]
    pub transactions_count: Option<TransactionsCount>,
    /// Every other `extra` key, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Account {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub connection_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `account`, `card`, `checking`, `savings`, `credit_card`, …
    #[serde(default, deserialize_with = "nullable")]
    pub nature: String,
    #[serde(default, deserialize_with = "nullable")]
    pub balance: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub currency_code: String,
    #[serde(default, deserialize_with = "nullable")]
    pub extra: AccountExtra,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TransactionExtra {
    /// The bank's own transaction id, when it gives one.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub payee: Option<String>,
    #[serde(default)]
    pub payee_information: Option<String>,
    #[serde(default)]
    pub payer: Option<String>,
    #[serde(default)]
    pub payer_information: Option<String>,
    #[serde(default)]
    pub account_number: Option<String>,
    #[serde(default)]
    pub information: Option<String>,
    #[serde(default)]
    pub additional: Option<String>,
    #[serde(default)]
    pub original_amount: Option<f64>,
    #[serde(default)]
    pub original_currency_code: Option<String>,
    #[serde(default)]
    pub posting_date: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub end_to_end_id: Option<String>,
    #[serde(default)]
    pub possible_duplicate: Option<bool>,
    #[serde(default)]
    pub categorization_confidence: Option<f64>,
    /// Every other `extra` key, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Transaction {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub duplicated: bool,
    /// `normal` | `fee` | `transfer`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `posted` | `pending`.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub made_on: String,
    #[serde(default, deserialize_with = "nullable")]
    pub amount: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub currency_code: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub extra: TransactionExtra,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Transaction {
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }

    pub fn made_on_date(&self) -> Option<NaiveDate> {
        parse_date(&self.made_on)
    }
}

/// A callback body (`success`, `fail`, `notify`, `destroy`, …) as Salt Edge POSTs it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct CallbackPayload {
    #[serde(default, deserialize_with = "nullable")]
    pub data: CallbackData,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: CallbackMeta,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct CallbackData {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub connection_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub custom_fields: Value,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub error_class: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    /// Provider-change callbacks: which provider and its new status.
    #[serde(default)]
    pub provider_code: Option<String>,
    #[serde(default)]
    pub provider_status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct CallbackMeta {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
}

impl CallbackMeta {
    pub fn time_utc(&self) -> Option<DateTime<Utc>> {
        self.time.as_deref().and_then(parse_datetime)
    }
}

#[cfg(test)]
mod tests;
