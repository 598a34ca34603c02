//! In-memory state of the sandbox (customers, connections, consents, accounts, connect
//! sessions, fault injection). Everything lives behind one `Mutex`; no lock is held across an
//! `.await`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::data::{self, AccountShape, ProviderDef};

/// `time + delta`, saturating instead of panicking on absurd configuration values.
pub fn later(time: DateTime<Utc>, delta: ChronoDuration) -> DateTime<Utc> {
    time.checked_add_signed(delta).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A `std` duration as a chrono one (saturating).
pub fn chrono_duration(duration: std::time::Duration) -> ChronoDuration {
    ChronoDuration::from_std(duration).unwrap_or(ChronoDuration::MAX)
}

pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Clone)]
pub struct CustomerRec {
    pub id: u64,
    pub identifier: String,
    pub created_at: DateTime<Utc>,
}

impl CustomerRec {
    pub fn to_json(&self) -> Value {
        json!({
            "customer_id": self.id.to_string(),
            "identifier": self.identifier,
            "blocked_at": null,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.created_at),
        })
    }
}

/// One stage an attempt went through (`start`, `connect`, …, `finish`).
#[derive(Debug, Clone)]
pub struct StageRec {
    pub id: u64,
    pub name: &'static str,
    pub created_at: DateTime<Utc>,
}

impl StageRec {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "interactive_html": null,
            "interactive_fields_names": null,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.created_at),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AttemptRec {
    pub id: u64,
    pub created_at: DateTime<Utc>,
    /// False while the attempt runs (see `attempts`); its data appears when it finishes.
    pub finished: bool,
    pub stages: Vec<StageRec>,
    pub success_at: Option<DateTime<Utc>>,
    pub fail_at: Option<DateTime<Utc>>,
    pub fail_error_class: Option<String>,
    pub fail_message: Option<String>,
    pub custom_fields: Value,
}

impl AttemptRec {
    pub fn push_stage(&mut self, id: u64, name: &'static str, now: DateTime<Utc>) {
        self.stages.push(StageRec { id, name, created_at: now });
    }

    pub fn to_json(&self) -> Value {
        let updated_at = self.stages.last().map_or(self.created_at, |stage| stage.created_at);
        json!({
            "id": self.id.to_string(),
            "api_mode": "service",
            "api_version": "6",
            "finished": self.finished,
            "finished_recent": self.finished,
            "last_stage": self.stages.last().map(StageRec::to_json),
            "stages": self.stages.iter().map(StageRec::to_json).collect::<Vec<_>>(),
            "fetch_scopes": ["accounts", "transactions"],
            "custom_fields": self.custom_fields,
            "success_at": self.success_at.map(timestamp),
            "fail_at": self.fail_at.map(timestamp),
            "fail_error_class": self.fail_error_class,
            "fail_message": self.fail_message,
            "unduplication_strategy": "mark_as_pending",
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(updated_at),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ConsentRec {
    pub id: u64,
    pub scopes: Vec<String>,
    pub from_date: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentState {
    Active,
    Expired,
    Revoked,
}

impl ConsentRec {
    pub fn state(&self, now: DateTime<Utc>) -> ConsentState {
        if self.revoked_at.is_some() {
            ConsentState::Revoked
        } else if self.expires_at <= now {
            ConsentState::Expired
        } else {
            ConsentState::Active
        }
    }

    pub fn to_json(&self, connection: &ConnectionRec, now: DateTime<Utc>) -> Value {
        let status = match self.state(now) {
            ConsentState::Active => "active",
            ConsentState::Expired => "expired",
            ConsentState::Revoked => "revoked",
        };
        let period_days = (self.expires_at - self.created_at).num_days();
        json!({
            "id": self.id.to_string(),
            "connection_id": connection.id.to_string(),
            "customer_id": connection.customer_id.to_string(),
            "scopes": self.scopes,
            "status": status,
            "collected_by": "saltedge",
            "period_days": period_days,
            "from_date": self.from_date,
            "to_date": null,
            "expires_at": timestamp(self.expires_at),
            "revoked_at": self.revoked_at.map(timestamp),
            "revoked_by": self.revoked_at.map(|_| "client"),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.revoked_at.unwrap_or(self.created_at)),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AccountRec {
    pub shape: AccountShape,
    pub name: String,
    pub nature: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccountRec {
    pub fn to_json(&self, connection_id: u64) -> Value {
        let shape = &self.shape;
        json!({
            "id": shape.id,
            "connection_id": connection_id.to_string(),
            "name": self.name,
            "nature": self.nature,
            "balance": data::account_balance(shape),
            "currency_code": shape.currency_code,
            "extra": {
                "iban": data::account_iban(shape.seq),
                "swift": "FAKEXF21",
                "account_number": format!("{:010}", shape.seq * 7_919 % 10_000_000_000),
                "account_name": self.name,
                "holder_name": "John Doe",
                "status": "active",
                "transactions_count": {
                    "posted": shape.posted_count() - shape.duplicated_count(),
                    "pending": shape.pending_count(),
                },
            },
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone)]
pub struct ConnectionRec {
    pub id: u64,
    pub customer_id: u64,
    pub provider: &'static ProviderDef,
    /// Login used at the bank; same customer + provider + login twice is a duplicate.
    pub login: String,
    pub status: ConnectionStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `None` while an attempt runs (Salt Edge answers `null` then).
    pub next_refresh_possible_at: Option<DateTime<Utc>>,
    pub last_attempt: AttemptRec,
    pub consents: Vec<ConsentRec>,
    pub accounts: Vec<AccountRec>,
    /// Start times of background refreshes, for the PSD2 limit of regulated providers.
    pub background_refreshes: Vec<DateTime<Utc>>,
}

impl ConnectionRec {
    /// An attempt is still running.
    pub fn is_processing(&self) -> bool {
        !self.last_attempt.finished
    }

    pub fn current_consent(&self) -> Option<&ConsentRec> {
        self.consents.last()
    }

    pub fn to_json(&self, customer_identifier: Option<&str>) -> Value {
        json!({
            "id": self.id.to_string(),
            "customer_id": self.customer_id.to_string(),
            "customer_identifier": customer_identifier,
            "provider_code": self.provider.code,
            "provider_name": self.provider.name,
            "country_code": self.provider.country_code,
            "status": match self.status {
                ConnectionStatus::Active => "active",
                ConnectionStatus::Inactive => "inactive",
            },
            "categorization": "personal",
            "categorization_vendor": "saltedge",
            "automatic_refresh": false,
            "next_refresh_possible_at": self.next_refresh_possible_at.map(timestamp),
            "last_consent_id": self.current_consent().map(|c| c.id.to_string()),
            "last_attempt": self.last_attempt.to_json(),
            "holder_info": { "names": ["John Doe"] },
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        })
    }
}

#[derive(Debug, Clone)]
pub enum SessionKind {
    Connect { customer_id: u64, provider_code: Option<String> },
    Reconnect { connection_id: u64 },
    Refresh { connection_id: u64 },
}

/// A connect / reconnect / refresh widget session (`/connect/{token}`).
#[derive(Debug, Clone)]
pub struct SessionRec {
    pub kind: SessionKind,
    /// Who asks for the connection, as the page names it.
    pub requester: String,
    pub return_to: String,
    pub custom_fields: Value,
    pub scopes: Vec<String>,
    pub from_date: Option<String>,
    pub include_sandboxes: bool,
    pub return_error_class: bool,
    /// Append `connection_id` to `return_to` (v6 `return_connection_id`, default false).
    pub return_connection_id: bool,
    pub expires_at: DateTime<Utc>,
    pub completed: bool,
}

/// Fault injection for the data endpoints (`POST /sandbox/admin/faults`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    None,
    /// 429 `RateLimitExceeded` with `Retry-After: retry_after_secs`.
    RateLimit,
    /// `status` (default 500) with `InternalServerError`.
    ServerError,
    /// Answer normally after `delay_ms`.
    Slow,
    /// Send half of the answer, then close the connection.
    Drop,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with a body that never ends (a page of transactions whose list goes on).
    EndlessBody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub mode: FaultMode,
    /// The fault hits every Nth matching request (1 = every request).
    pub every_nth: u64,
    pub retry_after_secs: u64,
    pub delay_ms: u64,
    /// HTTP status for `server_error` (500, 502, 503, 504).
    pub status: u16,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig { mode: FaultMode::None, every_nth: 1, retry_after_secs: 1, delay_ms: 0, status: 500 }
    }
}

#[derive(Debug)]
pub struct SandboxState {
    next_id: u64,
    next_account_seq: u64,
    pub customers: BTreeMap<u64, CustomerRec>,
    pub connections: BTreeMap<u64, ConnectionRec>,
    pub sessions: HashMap<String, SessionRec>,
    pub faults: FaultConfig,
    pub fault_counter: u64,
}

impl Default for SandboxState {
    fn default() -> Self {
        SandboxState {
            next_id: 1_000_000_000_000_000_001,
            next_account_seq: 1,
            customers: BTreeMap::new(),
            connections: BTreeMap::new(),
            sessions: HashMap::new(),
            faults: FaultConfig::default(),
            fault_counter: 0,
        }
    }
}

impl SandboxState {
    /// Next id for customers, connections, consents, attempts and accounts (19 digits).
    pub fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn new_account_seq(&mut self) -> Option<u64> {
        if self.next_account_seq > data::MAX_ACCOUNTS {
            return None;
        }
        let seq = self.next_account_seq;
        self.next_account_seq += 1;
        Some(seq)
    }

    /// Decides whether this request gets the configured fault.
    pub fn take_fault(&mut self) -> Option<FaultConfig> {
        if self.faults.mode == FaultMode::None {
            return None;
        }
        self.fault_counter += 1;
        let every = self.faults.every_nth.max(1);
        self.fault_counter.is_multiple_of(every).then_some(self.faults)
    }

    /// A finished attempt (a failure, or an admin hook's verdict).
    pub fn new_attempt(
        &mut self,
        now: DateTime<Utc>,
        custom_fields: Value,
        failure: Option<(&str, &str)>,
    ) -> AttemptRec {
        let stage = StageRec { id: self.new_id(), name: "finish", created_at: now };
        AttemptRec {
            id: self.new_id(),
            created_at: now,
            finished: true,
            stages: vec![stage],
            success_at: failure.is_none().then_some(now),
            fail_at: failure.map(|_| now),
            fail_error_class: failure.map(|(class, _)| class.to_string()),
            fail_message: failure.map(|(_, message)| message.to_string()),
            custom_fields,
        }
    }

    /// An attempt that has just started (stage `start`); `attempts::launch` runs it.
    pub fn start_attempt(&mut self, now: DateTime<Utc>, custom_fields: Value) -> AttemptRec {
        let stage = StageRec { id: self.new_id(), name: "start", created_at: now };
        AttemptRec {
            id: self.new_id(),
            created_at: now,
            finished: false,
            stages: vec![stage],
            success_at: None,
            fail_at: None,
            fail_error_class: None,
            fail_message: None,
            custom_fields,
        }
    }

    pub fn new_consent(
        &mut self,
        now: DateTime<Utc>,
        scopes: Vec<String>,
        from_date: Option<String>,
        consent_days: u32,
    ) -> ConsentRec {
        ConsentRec {
            id: self.new_id(),
            scopes,
            from_date,
            created_at: now,
            expires_at: later(now, ChronoDuration::days(i64::from(consent_days))),
            revoked_at: None,
        }
    }

    /// A new account with `transactions` posted and `pending` pending rows.
    pub fn new_account(
        &mut self,
        now: DateTime<Utc>,
        name: String,
        nature: String,
        currency_code: String,
        transactions: u64,
        pending: u64,
    ) -> Option<AccountRec> {
        let seq = self.new_account_seq()?;
        let id = self.new_id().to_string();
        Some(AccountRec {
            shape: AccountShape::new(id, seq, currency_code, now.date_naive(), transactions, pending),
            name,
            nature,
            created_at: now,
            updated_at: now,
        })
    }

    pub fn customer_identifier(&self, customer_id: u64) -> Option<&str> {
        self.customers.get(&customer_id).map(|customer| customer.identifier.as_str())
    }

    pub fn connection_json(&self, connection: &ConnectionRec) -> Value {
        connection.to_json(self.customer_identifier(connection.customer_id))
    }
}

/// Settles pending rows of `account`: up to `count` (all when `None`) become posted rows with
/// new ids, and `new_pending` fresh pending rows appear. Returns how many were settled.
pub fn settle_pending(account: &mut AccountRec, count: Option<u64>, new_pending: u64, now: DateTime<Utc>) -> u64 {
    let shape = &mut account.shape;
    let settle = count
        .unwrap_or(u64::MAX)
        .min(shape.pending_count())
        .min(data::MAX_ROWS_PER_ACCOUNT.saturating_sub(shape.posted_count()));
    shape.settle(settle);
    shape.pending_total = (shape.pending_total + new_pending).min(data::MAX_ROWS_PER_ACCOUNT);
    if settle > 0 || new_pending > 0 {
        account.updated_at = now;
    }
    settle
}

/// What a refresh fetches for `account`: its pending rows settle, `new_posted` new posted rows
/// (the last one flagged `duplicated` when there are two or more) and `new_pending` new pending
/// rows appear.
pub fn refresh_account(account: &mut AccountRec, new_posted: u64, new_pending: u64, now: DateTime<Utc>) {
    settle_pending(account, None, new_pending, now);
    let shape = &mut account.shape;
    let room = data::MAX_ROWS_PER_ACCOUNT.saturating_sub(shape.posted_count());
    shape.add_fresh(new_posted.min(room), now.date_naive());
    account.updated_at = now;
}
