//! Enable Banking's objects in the storage's terms: a bank (ASPSP) as an institution, a session's
//! account, and a read's transactions split into posted and pending rows.
//!
//! * A transaction's identity is its `entry_reference` ("unique and immutable for accounts with the same
//!   identification hashes", the reference says). Without one (it is optional, and pending rows rarely
//!   have it), it is a digest of what the bank says of the row, numbered among identical rows of the same
//!   read: two equal card payments of the same day stay two rows, and a later read of the same days
//!   numbers them the same way.
//! * `BOOK` rows are posted; `PDNG`, `HOLD` and `OTHR` (not final, or of unknown status) are pending and
//!   never imported into Odoo as posted; `SCHD`, `CNCL` and `RJCT` (scheduled, cancelled, rejected) never
//!   happened on the account and are not stored. A row without a readable amount or date is not stored
//!   either (and is counted as skipped).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::enablebanking::{AccountResource, Aspsp, Transaction};
use crate::sync::store::accounts::AccountRecord;
use crate::sync::store::institutions::InstitutionRecord;
use crate::sync::store::transactions::TransactionRecord;
use crate::types::Provider;

/// The institution code of the bank Enable Banking names `name` in `country` (`:` never occurs in a Salt
/// Edge code, so codes stay unique across aggregators).
pub fn institution_code(country: &str, name: &str) -> String {
    format!("enablebanking:{}:{}", country.to_uppercase(), name)
}

pub fn institution(aspsp: &Aspsp) -> InstitutionRecord {
    InstitutionRecord {
        provider: Provider::EnableBanking,
        code: institution_code(&aspsp.country, &aspsp.name),
        name: aspsp.name.clone(),
        country_code: aspsp.country.clone(),
        status: Some("active".to_string()),
        // The user authorizes at the bank's own page and comes back: a redirect, as OAuth.
        mode: Some("oauth".to_string()),
        max_consent_days: aspsp.maximum_consent_validity.map(|secs| secs / 86_400),
        supported_fetch_scopes: vec!["accounts".to_string(), "balances".to_string(), "transactions".to_string()],
        logo_url: aspsp.logo.clone(),
    }
}

/// A session's account: known again by its identification hash, read with its `uid` (absent when the
/// bank says it cannot be read).
pub fn account(resource: &AccountResource) -> AccountRecord {
    AccountRecord {
        online_identifier: resource.identification_hash.clone(),
        name: resource.display_name(),
        account_number: resource.number().map(str::to_string),
        balance: None,
        currency_code: resource.currency.clone(),
        session_account_id: resource.uid.clone(),
    }
}

/// The rows of one read, split as they are to be stored.
#[derive(Debug, Default)]
pub struct Split {
    pub posted: Vec<TransactionRecord>,
    pub pending: Vec<TransactionRecord>,
    /// Rows not stored: scheduled, cancelled or rejected, or without a readable amount or date.
    pub skipped: usize,
}

/// Splits the pages of one read, numbering rows without an `entry_reference` across all its pages.
#[derive(Debug, Default)]
pub struct ReadSplitter {
    seen: HashMap<String, u32>,
}

impl ReadSplitter {
    pub fn split(&mut self, page: Vec<Transaction>) -> Split {
        let mut split = Split::default();
        for transaction in page {
            let posted = match transaction.status.as_str() {
                "BOOK" => true,
                "PDNG" | "HOLD" | "OTHR" => false,
                _ => {
                    split.skipped += 1;
                    continue;
                }
            };
            let (Some(amount), Some(date)) = (transaction.signed_amount(), transaction.date()) else {
                split.skipped += 1;
                continue;
            };
            let identifier = match transaction.entry_reference.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                Some(reference) => reference.to_string(),
                None => {
                    let digest = digest(&transaction, posted);
                    let n = self.seen.entry(digest.clone()).or_insert(0);
                    *n += 1;
                    format!("eb-{digest}-{n}")
                }
            };
            let raw_data = serde_json::to_string(&transaction).unwrap_or_default();
            let record = TransactionRecord {
                identifier,
                date,
                amount,
                currency_code: transaction.transaction_amount.currency.clone(),
                payment_ref: payment_ref(&transaction),
                partner_name: transaction.counterparty().map(str::to_string),
                account_number: transaction.counterparty_account().map(str::to_string),
                raw_data,
            };
            if posted {
                split.posted.push(record);
            } else {
                split.pending.push(record);
            }
        }
        split
    }
}

/// What the bank says of a row without an `entry_reference`, as a short digest.
fn digest(t: &Transaction, posted: bool) -> String {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let fields = [
        if posted { "posted" } else { "pending" }.to_string(),
        date(t.booking_date),
        date(t.value_date),
        date(t.transaction_date),
        t.transaction_amount.amount.trim().to_string(),
        t.transaction_amount.currency.clone(),
        format!("{:?}", t.credit_debit_indicator),
        t.remittance_information.join("\n"),
        t.counterparty().unwrap_or_default().to_string(),
        t.counterparty_account().unwrap_or_default().to_string(),
        t.reference_number.clone().unwrap_or_default(),
    ];
    let mut hasher = Sha256::new();
    for field in &fields {
        hasher.update(field.as_bytes());
        hasher.update([0x1f]);
    }
    hex::encode(&hasher.finalize()[..12])
}

/// The payment's text: its remittance lines, then its reference number when they do not hold it.
fn payment_ref(t: &Transaction) -> String {
    let mut text: Vec<&str> = t.remittance_information.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
    let joined = text.join(" ");
    if let Some(reference) = t.reference_number.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        if !joined.contains(reference) {
            text.push(reference);
        }
    }
    if text.is_empty() {
        t.note.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "/".to_string())
    } else {
        text.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transaction(status: &str, reference: Option<&str>, amount: &str, text: &str) -> Transaction {
        serde_json::from_value(serde_json::json!({
            "entry_reference": reference,
            "transaction_amount": {"currency": "EUR", "amount": amount},
            "creditor": {"name": "Shop"},
            "credit_debit_indicator": "DBIT",
            "status": status,
            "booking_date": "2026-11-27",
            "remittance_information": [text],
        }))
        .unwrap()
    }

    #[test]
    fn statuses_are_sorted_and_identities_kept_apart() {
        let mut splitter = ReadSplitter::default();
        let page = vec![
            transaction("BOOK", Some("R1"), "5.00", "coffee"),
            transaction("BOOK", None, "3.50", "bakery"),
            transaction("BOOK", None, "3.50", "bakery"),
            transaction("PDNG", None, "1.00", "reserved"),
            transaction("HOLD", None, "2.00", "hold"),
            transaction("SCHD", None, "9.00", "scheduled"),
            transaction("RJCT", Some("R2"), "9.00", "rejected"),
            transaction("BOOK", Some("R3"), "1e3", "bad amount"),
        ];
        let split = splitter.split(page);
        let ids: Vec<&str> = split.posted.iter().map(|t| t.identifier.as_str()).collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0], "R1");
        // Two equal payments of the same day stay two rows.
        assert_ne!(ids[1], ids[2]);
        assert!(ids[1].ends_with("-1") && ids[2].ends_with("-2"), "{ids:?}");
        assert_eq!(split.pending.len(), 2);
        assert_eq!(split.skipped, 3);
        assert_eq!(split.posted[0].amount, -5.0);
        assert_eq!(split.posted[0].partner_name.as_deref(), Some("Shop"));
        // A later read numbers the same rows the same way.
        let again = ReadSplitter::default()
            .split(vec![transaction("BOOK", None, "3.50", "bakery"), transaction("BOOK", None, "3.50", "bakery")]);
        assert_eq!(again.posted.iter().map(|t| t.identifier.as_str()).collect::<Vec<_>>(), &ids[1..]);
    }

    #[test]
    fn codes_are_unique_across_aggregators_by_construction() {
        assert_eq!(institution_code("fi", "Mock Bank"), "enablebanking:FI:Mock Bank");
        assert!(institution_code("FI", "x").contains(':'));
    }
}
