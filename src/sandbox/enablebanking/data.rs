//! The sandbox's banks and the accounts and transactions they hold.
//!
//! A bank account is a pure function of (bank, user name, position): its identification hash, IBAN and
//! history are the same in every session the user authorizes, as at a real bank, so a bridge that links
//! the same user again sees the same accounts (new `uid`s, same `identification_hash`) and the same
//! `entry_reference`s. Generated booked rows are never stored: row `i` is computed from the account's
//! seed; only rows added later (settled pending rows, admin additions) are kept.

use chrono::{Duration as ChronoDuration, NaiveDate};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How a bank behaves (sandbox conventions, listed in the module docs of `sandbox::enablebanking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankBehaviour {
    /// Log in with password [`PASSWORD`]; reads work.
    Normal,
    /// Authorization works; every account read fails with `ASPSP_ERROR`.
    Unavailable,
}

/// The password of every sandbox user (any user name).
pub const PASSWORD: &str = "secret";
/// The user name the banks advertise in `sandbox.users`.
pub const SANDBOX_USER: &str = "user";

#[derive(Debug)]
pub struct BankDef {
    pub name: &'static str,
    pub country: &'static str,
    pub bic: &'static str,
    pub psu_types: &'static [&'static str],
    /// Longest consent, in days (`maximum_consent_validity` is sent in seconds).
    pub max_consent_days: i64,
    pub behaviour: BankBehaviour,
    pub currency: &'static str,
}

impl BankDef {
    pub fn maximum_consent_validity_secs(&self) -> i64 {
        self.max_consent_days * 86_400
    }

    pub fn supports(&self, psu_type: &str) -> bool {
        self.psu_types.contains(&psu_type)
    }

    /// `ASPSPData`, as `GET /aspsps` lists it in the sandbox environment.
    pub fn to_json(&self, root: &str) -> Value {
        json!({
            "name": self.name,
            "country": self.country,
            "logo": format!("{root}sandbox-bank/logo/{}.svg", self.country),
            "psu_types": self.psu_types,
            "auth_methods": [{
                "name": "password", "title": "User name and password", "psu_type": self.psu_types[0],
                "credentials": [], "approach": "REDIRECT", "hidden_method": false
            }],
            "maximum_consent_validity": self.maximum_consent_validity_secs(),
            "sandbox": { "users": [{ "username": SANDBOX_USER, "password": PASSWORD, "otp": null }] },
            "beta": false,
            "bic": self.bic,
            "required_psu_headers": ["Psu-Ip-Address", "Psu-User-Agent"],
            "payments": [],
        })
    }
}

/// The catalogue: fictional banks, named so that nobody mistakes them for real ones.
pub static BANKS: &[BankDef] = &[
    BankDef {
        name: "Mock Bank",
        country: "FI",
        bic: "MOCKFIHH",
        psu_types: &["personal", "business"],
        max_consent_days: 180,
        behaviour: BankBehaviour::Normal,
        currency: "EUR",
    },
    BankDef {
        name: "Mock Business Bank",
        country: "DE",
        bic: "MOCKDEFF",
        psu_types: &["business"],
        max_consent_days: 90,
        behaviour: BankBehaviour::Normal,
        currency: "EUR",
    },
    BankDef {
        name: "Mock Unavailable Bank",
        country: "FI",
        bic: "MOCUFIHH",
        psu_types: &["personal", "business"],
        max_consent_days: 180,
        behaviour: BankBehaviour::Unavailable,
        currency: "EUR",
    },
];

pub fn bank_index(name: &str, country: &str) -> Option<usize> {
    BANKS.iter().position(|b| b.name == name && b.country == country)
}

/// Booked rows generated per day of history (row `i` is `i / ROWS_PER_DAY` days before the anchor).
pub const ROWS_PER_DAY: u64 = 3;

/// One transaction row, before it is written as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub entry_reference: Option<String>,
    pub transaction_id: String,
    /// Positive amount in cents; the sign is `credit`.
    pub cents: i64,
    pub credit: bool,
    pub booked: bool,
    pub date: NaiveDate,
    pub counterparty: String,
    pub counterparty_iban: String,
    pub text: String,
}

impl Row {
    pub fn signed_cents(&self) -> i64 {
        if self.credit {
            self.cents
        } else {
            -self.cents
        }
    }

    /// `Transaction`, as the API writes it.
    pub fn to_json(&self, currency: &str) -> Value {
        let amount = json!({ "currency": currency, "amount": cents_text(self.cents) });
        let party = json!({ "name": self.counterparty });
        let party_account = json!({ "iban": self.counterparty_iban });
        let (creditor, creditor_account, debtor, debtor_account) = if self.credit {
            (Value::Null, Value::Null, party, party_account)
        } else {
            (party, party_account, Value::Null, Value::Null)
        };
        let date = self.date.format("%Y-%m-%d").to_string();
        json!({
            "entry_reference": self.entry_reference,
            "merchant_category_code": null,
            "transaction_amount": amount,
            "creditor": creditor,
            "creditor_account": creditor_account,
            "debtor": debtor,
            "debtor_account": debtor_account,
            "bank_transaction_code": null,
            "credit_debit_indicator": if self.credit { "CRDT" } else { "DBIT" },
            "status": if self.booked { "BOOK" } else { "PDNG" },
            "booking_date": if self.booked { Value::String(date.clone()) } else { Value::Null },
            "value_date": if self.booked { Value::String(date.clone()) } else { Value::Null },
            "transaction_date": date,
            "balance_after_transaction": null,
            "reference_number": null,
            "remittance_information": [self.text],
            "note": null,
            "transaction_id": self.transaction_id,
        })
    }
}

/// `1234` → `"12.34"`, `-5` → `"-0.05"`.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

fn number(bytes: &[u8]) -> u64 {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(eight)
}

/// The stable facts of one bank account of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountShape {
    pub identification_hash: String,
    pub iban: String,
    pub name: String,
    pub product: &'static str,
    pub cash_account_type: &'static str,
}

/// The `position`-th account `user` holds at `bank`.
pub fn account_shape(bank: usize, user: &str, position: u32) -> AccountShape {
    let def = &BANKS[bank];
    let seed = digest(&[def.name, def.country, user, &position.to_string()]);
    let hash = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, seed);
    let digits = number(&seed[8..]) % 10_000_000_000_000_000;
    let (product, cash_account_type) =
        if position.is_multiple_of(2) { ("Current account", "CACC") } else { ("Savings account", "SVGS") };
    AccountShape {
        identification_hash: hash,
        iban: format!("{}00MOCK{digits:016}", def.country),
        name: format!("{} {}", user.trim(), if position.is_multiple_of(2) { "Current" } else { "Savings" }),
        product,
        cash_account_type,
    }
}

const PARTIES: [&str; 6] = [
    "Mock Grocery Oy",
    "Mock Energy Ltd",
    "Mock Customer GmbH",
    "Mock Office Supplies",
    "Mock Rent AB",
    "Mock Client SA",
];

/// Generated booked row `index` of the account seeded `hash`, anchored at `anchor` (the newest day).
pub fn booked_row(hash: &str, index: u64, anchor: NaiveDate) -> Row {
    let seed = digest(&[hash, &index.to_string()]);
    let n = number(&seed);
    let credit = n.is_multiple_of(5);
    let party = PARTIES[(n / 7 % PARTIES.len() as u64) as usize];
    let cents = 100 + (n / 31 % 90_000) as i64;
    let days = (index / ROWS_PER_DAY) as i64;
    Row {
        entry_reference: Some(format!("{}-{index:08}", short(hash))),
        transaction_id: format!("t{}", hex::encode(&seed[16..24])),
        cents,
        credit,
        booked: true,
        date: anchor - ChronoDuration::days(days),
        counterparty: party.to_string(),
        counterparty_iban: format!("FI00PARTY{:010}", n % 10_000_000_000),
        text: if credit { format!("Invoice payment {index}") } else { format!("Card purchase {index}") },
    }
}

/// A pending row numbered `seq` on `date`.
pub fn pending_row(hash: &str, seq: u64, date: NaiveDate) -> Row {
    let seed = digest(&[hash, "pending", &seq.to_string()]);
    let n = number(&seed);
    Row {
        entry_reference: None,
        transaction_id: format!("p{}", hex::encode(&seed[16..24])),
        cents: 100 + (n % 20_000) as i64,
        credit: false,
        booked: false,
        date,
        counterparty: PARTIES[(n % PARTIES.len() as u64) as usize].to_string(),
        counterparty_iban: format!("FI00PARTY{:010}", n % 10_000_000_000),
        text: format!("Reserved card payment {seq}"),
    }
}

/// A short, stable, URL-safe tag of an identification hash (for entry references).
pub fn short(hash: &str) -> String {
    hex::encode(&digest(&[hash])[..5])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_stable_per_user_and_differ_between_users_and_positions() {
        assert_eq!(account_shape(0, "alice", 0), account_shape(0, "alice", 0));
        assert_ne!(account_shape(0, "alice", 0).identification_hash, account_shape(0, "bob", 0).identification_hash);
        assert_ne!(account_shape(0, "alice", 0).iban, account_shape(0, "alice", 1).iban);
        assert_ne!(account_shape(0, "alice", 0).iban, account_shape(1, "alice", 0).iban);
    }

    #[test]
    fn rows_are_deterministic_and_their_references_unique() {
        let anchor = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let hash = account_shape(0, "alice", 0).identification_hash;
        assert_eq!(booked_row(&hash, 5, anchor), booked_row(&hash, 5, anchor));
        let refs: std::collections::HashSet<_> =
            (0..1000).map(|i| booked_row(&hash, i, anchor).entry_reference.unwrap()).collect();
        assert_eq!(refs.len(), 1000);
        assert_eq!(booked_row(&hash, 0, anchor).date, anchor);
        assert_eq!(booked_row(&hash, ROWS_PER_DAY, anchor).date, anchor - ChronoDuration::days(1));
        assert_eq!(cents_text(1234), "12.34");
        assert_eq!(cents_text(-5), "-0.05");
    }

    #[test]
    fn a_row_is_written_as_the_reference_describes() {
        let anchor = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let row = Row { credit: false, ..booked_row("h", 1, anchor) };
        let written: crate::enablebanking::Transaction = serde_json::from_value(row.to_json("EUR")).unwrap();
        assert!(written.is_booked());
        assert_eq!(written.signed_amount(), Some(-(row.cents as f64) / 100.0));
        assert_eq!(written.counterparty(), Some(row.counterparty.as_str()));
        let pending: crate::enablebanking::Transaction =
            serde_json::from_value(pending_row("h", 1, anchor).to_json("EUR")).unwrap();
        assert!(pending.is_pending() && pending.entry_reference.is_none() && pending.booking_date.is_none());
    }
}
