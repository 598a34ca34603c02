//! In-memory state of the Enable Banking sandbox: authorizations, codes, sessions, the banks' accounts,
//! continuation keys, unattended-read counts and injected faults. Everything sits behind one `Mutex`;
//! no lock is held across an `.await`.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::data::{self, AccountShape, Row, BANKS};

/// RFC 3339 with an offset, as the API writes date-times.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// A random UUID (version 4), the shape of the API's ids.
pub fn uuid() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// A random single-use secret (authorization codes, continuation keys).
pub fn secret_token() -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, rand::random::<[u8; 24]>())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationStatus {
    /// The user has not finished at the bank yet.
    Pending,
    /// The user approved; a code was issued.
    Returned,
    /// The user cancelled at the bank.
    Cancelled,
}

/// One `POST /auth`: what the user is asked to approve at the bank.
#[derive(Debug, Clone)]
pub struct AuthorizationRec {
    pub id: String,
    pub bank: usize,
    pub psu_type: String,
    pub valid_until: DateTime<Utc>,
    pub state: String,
    pub redirect_url: String,
    pub created: DateTime<Utc>,
    pub status: AuthorizationStatus,
    pub psu_id_hash: String,
}

/// An authorization code handed back through the redirect.
#[derive(Debug, Clone)]
pub struct CodeRec {
    pub authorization_id: String,
    pub user: String,
    pub issued: DateTime<Utc>,
    /// Set once the code has been exchanged: codes are single-use.
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// `DELETE /sessions/{id}`.
    Closed,
    /// The user withdrew the consent at the bank (admin hook).
    Revoked,
}

/// An authorized session.
#[derive(Debug, Clone)]
pub struct SessionRec {
    pub bank: usize,
    pub psu_type: String,
    pub valid_until: DateTime<Utc>,
    pub created: DateTime<Utc>,
    pub authorized: DateTime<Utc>,
    pub ended: Option<(SessionEnd, DateTime<Utc>)>,
    pub account_uids: Vec<String>,
    pub psu_id_hash: String,
}

impl SessionRec {
    /// `SessionStatus` at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        match self.ended {
            Some((SessionEnd::Closed, _)) => "CLOSED",
            Some((SessionEnd::Revoked, _)) => "REVOKED",
            None if now >= self.valid_until => "EXPIRED",
            None => "AUTHORIZED",
        }
    }
}

/// An account as the bank holds it (shared by every session that reaches it).
#[derive(Debug, Clone)]
pub struct BankAccount {
    pub bank: usize,
    pub shape: AccountShape,
    /// The newest day of the generated history (the day the bank first showed the account).
    pub anchor: NaiveDate,
    /// Generated booked rows (`data::booked_row(…, 0..generated, anchor)`).
    pub generated: u64,
    /// Booked rows added later (settled pending rows, admin additions).
    pub added: Vec<Row>,
    pub pending: Vec<Row>,
    pub pending_seq: u64,
    /// When reads without the user (no `Psu-Ip-Address`) were made, oldest first.
    pub unattended_reads: VecDeque<DateTime<Utc>>,
}

impl BankAccount {
    /// Every row, newest first: pending, then added, then generated booked rows.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self.pending.iter().rev().cloned().collect();
        rows.extend(self.added.iter().rev().cloned());
        rows.extend((0..self.generated).map(|i| data::booked_row(&self.shape.identification_hash, i, self.anchor)));
        rows
    }

    /// Booked balance in cents: an opening 10,000.00 plus every booked row.
    pub fn booked_cents(&self) -> i64 {
        let generated: i64 = (0..self.generated)
            .map(|i| data::booked_row(&self.shape.identification_hash, i, self.anchor).signed_cents())
            .sum();
        1_000_000 + generated + self.added.iter().map(Row::signed_cents).sum::<i64>()
    }

    pub fn pending_cents(&self) -> i64 {
        self.pending.iter().map(Row::signed_cents).sum()
    }

    pub fn currency(&self) -> &'static str {
        BANKS[self.bank].currency
    }

    /// Records an unattended read at `now` unless `limit` were made in the 24 hours before; false
    /// when the bank refuses it.
    pub fn take_unattended_read(&mut self, now: DateTime<Utc>, limit: usize) -> bool {
        let day_ago = now - ChronoDuration::hours(24);
        while self.unattended_reads.front().is_some_and(|at| *at <= day_ago) {
            self.unattended_reads.pop_front();
        }
        if self.unattended_reads.len() >= limit {
            return false;
        }
        self.unattended_reads.push_back(now);
        true
    }
}

/// A session's account `uid`, and what it points to.
#[derive(Debug, Clone)]
pub struct AccountRef {
    pub session_id: String,
    pub identification_hash: String,
}

/// What one transactions read asked, so a continuation key is used only for the same read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadQuery {
    pub uid: String,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub status: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Cursor {
    pub query: ReadQuery,
    pub offset: usize,
    /// The key of the page after this one, once given: asking for the same page again (a retry) gets
    /// the same answer.
    pub next: Option<String>,
}

/// Fault injection (admin hook, not Enable Banking surface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    None,
    /// Enable Banking's own 429 (no error code), with `Retry-After`.
    Throttle,
    /// The bank's daily limit: 429 `ASPSP_RATE_LIMIT_EXCEEDED`.
    AspspRateLimit,
    /// HTTP `status` (default 500) with an error body and no code.
    ServerError,
    /// 400 `ASPSP_ERROR` (the bank failed; how production answers it).
    AspspError,
    /// A transactions page always names a fresh next page: through the rows, then empty pages for ever.
    EndlessPages,
    /// A transactions page names a fresh next page that repeats the same rows.
    RepeatPage,
    /// A transactions page names the same next page again and again.
    RepeatKey,
    /// An answer body that never ends.
    EndlessBody,
    /// A 200 whose body is not JSON.
    Malformed,
    /// Waits `delay_ms` before answering normally.
    Slow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub mode: FaultMode,
    /// Every Nth matching request is hit (1 = all).
    pub every_nth: u64,
    /// Only requests whose path contains this (e.g. `transactions`); empty = every API request.
    pub path_contains: String,
    pub status: u16,
    pub retry_after_secs: u64,
    pub delay_ms: u64,
    /// How many requests to hit at most (0 = no limit).
    pub times: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            mode: FaultMode::None,
            every_nth: 1,
            path_contains: String::new(),
            status: 500,
            retry_after_secs: 1,
            delay_ms: 0,
            times: 0,
        }
    }
}

#[derive(Default)]
pub struct EbState {
    pub authorizations: HashMap<String, AuthorizationRec>,
    pub codes: HashMap<String, CodeRec>,
    pub sessions: HashMap<String, SessionRec>,
    pub accounts: HashMap<String, AccountRef>,
    pub bank_accounts: HashMap<String, BankAccount>,
    pub cursors: HashMap<String, Cursor>,
    pub faults: FaultConfig,
    fault_seen: u64,
    fault_hits: u64,
    /// Seconds the sandbox's business clock runs ahead of the real one (admin hook): session expiry,
    /// code lifetime and read limits follow it; the JWT check follows the real clock.
    pub clock_offset_secs: i64,
}

impl EbState {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + ChronoDuration::seconds(self.clock_offset_secs)
    }

    pub fn set_faults(&mut self, faults: FaultConfig) {
        self.faults = FaultConfig { every_nth: faults.every_nth.max(1), ..faults };
        self.fault_seen = 0;
        self.fault_hits = 0;
    }

    /// The fault this request gets, if any.
    pub fn take_fault(&mut self, path: &str) -> Option<FaultConfig> {
        if self.faults.mode == FaultMode::None || !path.contains(self.faults.path_contains.as_str()) {
            return None;
        }
        if self.faults.times > 0 && self.fault_hits >= self.faults.times {
            return None;
        }
        self.fault_seen += 1;
        if !self.fault_seen.is_multiple_of(self.faults.every_nth) {
            return None;
        }
        self.fault_hits += 1;
        Some(self.faults.clone())
    }

    /// The bank account `user` holds at `bank` in `position`, created on first sight.
    pub fn bank_account(&mut self, bank: usize, user: &str, position: u32, rows: u64, pending: u32) -> String {
        let shape = data::account_shape(bank, user, position);
        let hash = shape.identification_hash.clone();
        let today = self.now().date_naive();
        self.bank_accounts.entry(hash.clone()).or_insert_with(|| {
            let rows_pending =
                (0..pending as u64).map(|n| data::pending_row(&shape.identification_hash, n, today)).collect();
            BankAccount {
                bank,
                shape,
                anchor: today,
                generated: rows,
                added: Vec::new(),
                pending: rows_pending,
                pending_seq: pending as u64,
                unattended_reads: VecDeque::new(),
            }
        });
        hash
    }

    /// Forgets the continuation keys of a session's accounts (they are valid only in the session).
    pub fn drop_cursors_of(&mut self, uids: &[String]) {
        self.cursors.retain(|_, cursor| !uids.contains(&cursor.query.uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_have_the_version_4_shape() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(uuid(), id);
    }

    #[test]
    fn unattended_reads_are_limited_over_a_rolling_day() {
        let mut state = EbState::default();
        let hash = state.bank_account(0, "alice", 0, 10, 1);
        let account = state.bank_accounts.get_mut(&hash).unwrap();
        let start = Utc::now();
        for i in 0..4 {
            assert!(account.take_unattended_read(start + ChronoDuration::hours(i), 4));
        }
        assert!(!account.take_unattended_read(start + ChronoDuration::hours(5), 4));
        assert!(!account.take_unattended_read(start + ChronoDuration::hours(24) - ChronoDuration::seconds(1), 4));
        // The first read is a full day old: it no longer counts.
        assert!(account.take_unattended_read(start + ChronoDuration::hours(24), 4));
        assert!(!account.take_unattended_read(start + ChronoDuration::hours(24), 4));
    }

    #[test]
    fn faults_hit_every_nth_matching_request_up_to_times() {
        let mut state = EbState::default();
        state.set_faults(FaultConfig {
            mode: FaultMode::ServerError,
            every_nth: 2,
            path_contains: "transactions".into(),
            times: 2,
            ..FaultConfig::default()
        });
        assert!(state.take_fault("aspsps").is_none());
        let hits: Vec<bool> = (0..8).map(|_| state.take_fault("accounts/x/transactions").is_some()).collect();
        assert_eq!(hits, [false, true, false, true, false, false, false, false]);
    }
}
