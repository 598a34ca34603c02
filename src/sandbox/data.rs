//! Static and generated data of the sandbox: the provider catalogue and deterministic
//! transactions.
//!
//! Transactions are never stored. A posted row is a pure function of (account, index) and a
//! pending row of (account, pending sequence number), so an account with 1,000,000 rows costs
//! no more memory than one with 10, and any page can be produced directly from its `from_id`.
//!
//! Id layout (19-digit numeric strings, increasing with the index, so `from_id` keyset paging
//! works within an account and across the accounts of a connection):
//! `TX_ID_BASE + account_seq * ACCOUNT_ID_SPAN + index` for posted rows and
//! `… + PENDING_ID_OFFSET + n` for pending rows.

use chrono::{Duration as ChronoDuration, NaiveDate};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const TX_ID_BASE: u64 = 2_000_000_000_000_000_000;
pub const ACCOUNT_ID_SPAN: u64 = 10_000_000_000_000;
pub const PENDING_ID_OFFSET: u64 = 5_000_000_000_000;
/// Most accounts the sandbox will create (keeps transaction ids inside `u64`).
pub const MAX_ACCOUNTS: u64 = 1_000_000;
/// Most posted (or pending) rows per account (keeps the two id ranges apart).
pub const MAX_ROWS_PER_ACCOUNT: u64 = PENDING_ID_OFFSET - 1;

/// How a provider's hosted login behaves (sandbox conventions, see the module docs of
/// `crate::sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderBehaviour {
    /// Any login, password `secret`.
    Simple,
    /// Like `Simple`, then an SMS code ([`SMS_CODE`]).
    Interactive,
    /// Always fails: the password names the error class (default `InvalidCredentials`).
    WithError,
}

/// The password every fake provider accepts.
pub const VALID_PASSWORD: &str = "secret";
/// The SMS code `fakebank_interactive_xf` accepts (sandbox convention, not Salt Edge's).
pub const SMS_CODE: &str = "123456";

#[derive(Debug, Clone)]
pub struct ProviderDef {
    pub id: u64,
    pub code: &'static str,
    pub name: &'static str,
    pub country_code: &'static str,
    pub behaviour: ProviderBehaviour,
    pub regulated: bool,
    pub home_url: &'static str,
}

impl ProviderDef {
    pub fn is_fake(&self) -> bool {
        self.country_code == "XF"
    }

    pub fn interactive(&self) -> bool {
        self.behaviour == ProviderBehaviour::Interactive
    }

    pub fn to_json(&self, refresh_timeout_minutes: u64, max_consent_days: u32) -> Value {
        let instruction = match self.behaviour {
            ProviderBehaviour::Simple => "Sandbox: any login, password \"secret\".".to_string(),
            ProviderBehaviour::Interactive => format!(
                "Sandbox: any login, password \"secret\", then SMS code \"{SMS_CODE}\"."
            ),
            ProviderBehaviour::WithError => {
                "Sandbox: always fails; type an error class as password (e.g. ProviderUnavailable), default InvalidCredentials.".to_string()
            }
        };
        // v6 field names (`instruction_for_connections`, `interactive_for_connections`, …); the
        // v5 names (`instruction`, `interactive`, `home_url`, `login_url`) are not sent.
        let credentials_fields = json!([
            { "name": "login", "english_name": "Login", "localized_name": "Login", "nature": "text",
              "optional": false, "position": 1, "field_options": [] },
            { "name": "password", "english_name": "Password", "localized_name": "Password", "nature": "password",
              "optional": false, "position": 2, "field_options": [] },
        ]);
        let interactive_fields = if self.interactive() {
            json!([{ "name": "sms_code", "english_name": "SMS code", "localized_name": "SMS code", "nature": "number",
                     "optional": false, "position": 1, "field_options": [] }])
        } else {
            json!([])
        };
        json!({
            "id": self.id.to_string(),
            "code": self.code,
            "name": self.name,
            "mode": "web",
            "status": "active",
            // Salt Edge cannot fetch an interactive bank on its own.
            "automatic_fetch": !self.interactive(),
            "customer_notified_on_sign_in": false,
            "interactive_for_connections": self.interactive(),
            "instruction_for_connections": instruction,
            "logo_url": null,
            "country_code": self.country_code,
            "group_code": self.code,
            "group_name": self.name,
            "hub": null,
            "dynamic_registration_code": null,
            "bic_codes": [],
            "identification_codes": [],
            "refresh_timeout": refresh_timeout_minutes,
            "holder_info": ["names"],
            "max_consent_days": max_consent_days,
            "max_interactive_delay": 480,
            "optional_interactivity": false,
            "custom_pendings_period": null,
            "timezone": "UTC",
            "regulated": self.regulated,
            "supported_iframe_embedding": true,
            "max_fetch_interval": 365,
            "supported_fetch_scopes": ["accounts", "transactions"],
            "supported_account_natures": ["account", "card", "savings"],
            "supported_account_types": ["personal", "business"],
            "supported_account_extra_fields": ["iban", "swift", "account_number", "account_name", "holder_name", "status", "transactions_count"],
            "supported_transaction_extra_fields": ["id", "account_number", "posting_date", "time", "additional", "payee", "payee_information", "payer", "payer_information"],
            "credentials_fields": credentials_fields,
            "interactive_fields": interactive_fields,
            "payment_templates": [],
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        })
    }
}

const fn provider(
    id: u64,
    code: &'static str,
    name: &'static str,
    country_code: &'static str,
    behaviour: ProviderBehaviour,
    regulated: bool,
    home_url: &'static str,
) -> ProviderDef {
    ProviderDef { id, code, name, country_code, behaviour, regulated, home_url }
}

/// The catalogue, in id order. Fake XF codes follow Salt Edge's naming; the others are
/// fictional banks (for name/country search) that behave like `fakebank_simple_xf`.
pub static PROVIDERS: &[ProviderDef] = &[
    provider(
        1,
        "fakebank_simple_xf",
        "Fake Bank Simple",
        "XF",
        ProviderBehaviour::Simple,
        false,
        "https://example.com/fakebank",
    ),
    provider(
        2,
        "fakebank_interactive_xf",
        "Fake Bank with SMS",
        "XF",
        ProviderBehaviour::Interactive,
        false,
        "https://example.com/fakebank",
    ),
    provider(
        3,
        "fakebank_with_error_xf",
        "Fake Bank with Error",
        "XF",
        ProviderBehaviour::WithError,
        false,
        "https://example.com/fakebank",
    ),
    provider(
        4,
        "fake_demobank_xf",
        "Fake Demo Bank",
        "XF",
        ProviderBehaviour::Simple,
        false,
        "https://example.com/demobank",
    ),
    provider(
        5,
        "fake_client_xf",
        "Fake Bank with Client Keys",
        "XF",
        ProviderBehaviour::Simple,
        true,
        "https://example.com/fakebank",
    ),
    provider(101, "musterbank_de", "Musterbank", "DE", ProviderBehaviour::Simple, true, "https://musterbank.example"),
    provider(
        102,
        "sparkasse_musterstadt_de",
        "Sparkasse Musterstadt",
        "DE",
        ProviderBehaviour::Simple,
        true,
        "https://sparkasse-musterstadt.example",
    ),
    provider(
        103,
        "banque_exemple_fr",
        "Banque Exemple",
        "FR",
        ProviderBehaviour::Simple,
        true,
        "https://banque-exemple.example",
    ),
    provider(
        104,
        "credit_modele_fr",
        "Crédit Modèle",
        "FR",
        ProviderBehaviour::Interactive,
        true,
        "https://credit-modele.example",
    ),
    provider(
        105,
        "banco_ejemplo_es",
        "Banco Ejemplo",
        "ES",
        ProviderBehaviour::Simple,
        true,
        "https://banco-ejemplo.example",
    ),
    provider(
        106,
        "voorbeeldbank_nl",
        "Voorbeeldbank",
        "NL",
        ProviderBehaviour::Simple,
        true,
        "https://voorbeeldbank.example",
    ),
    provider(
        107,
        "example_bank_gb",
        "Example Bank UK",
        "GB",
        ProviderBehaviour::Simple,
        true,
        "https://example-bank.example",
    ),
    provider(
        108,
        "banca_esempio_it",
        "Banca Esempio",
        "IT",
        ProviderBehaviour::Simple,
        true,
        "https://banca-esempio.example",
    ),
];

pub fn find_provider(code: &str) -> Option<&'static ProviderDef> {
    PROVIDERS.iter().find(|p| p.code == code)
}

/// A row of an account's transaction list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// Posted row `index` (0-based; ids increase with it).
    Posted(u64),
    /// Pending row with sequence number `n` (its id never changes while it is pending).
    Pending(u64),
}

/// Which rows a transactions list shows (Salt Edge v6 `GET /transactions`: by default the posted,
/// non-duplicated rows; `pending=true` the pending ones; `duplicated=true` the duplicated ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFilter {
    Posted,
    Pending,
    Duplicated,
}

/// Posted rows added after the history, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// `count` pending rows settled, from pending number `first_pending` on: same content, new ids.
    Settled { first_pending: u64, count: u64 },
    /// `count` new rows fetched by a refresh on `made_on`, from fresh number `first` on. With
    /// two or more, the last one repeats the first and is flagged `duplicated` (as Salt Edge
    /// flags a row it has seen before).
    Fresh { first: u64, count: u64, made_on: NaiveDate },
}

impl Batch {
    fn count(&self) -> u64 {
        match self {
            Batch::Settled { count, .. } | Batch::Fresh { count, .. } => *count,
        }
    }
}

/// What one posted row is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    History(u64),
    Settled(u64),
    Fresh { n: u64, made_on: NaiveDate, duplicated: bool },
}

/// What the generator needs to know about an account.
#[derive(Debug, Clone)]
pub struct AccountShape {
    pub id: String,
    pub seq: u64,
    pub currency_code: String,
    /// Date of the newest generated posted row; older rows go back up to a year.
    pub anchor: NaiveDate,
    /// Posted rows generated from scratch (indexes `0..regular`).
    pub regular: u64,
    /// Posted rows added later (settled pending rows, refreshes' new rows), in index order.
    pub batches: Vec<Batch>,
    /// Pending rows that have since been posted; they follow the regular rows, in order.
    pub posted_from_pending: u64,
    /// Pending rows ever created; the current ones are `posted_from_pending..pending_total`.
    pub pending_total: u64,
    /// New rows ever fetched by refreshes (numbers the `Fresh` batches).
    pub fresh_total: u64,
}

impl AccountShape {
    /// An account with `regular` posted history rows (up to a year back from `anchor`) and
    /// `pending` pending rows.
    pub fn new(id: String, seq: u64, currency_code: String, anchor: NaiveDate, regular: u64, pending: u64) -> Self {
        AccountShape {
            id,
            seq,
            currency_code,
            anchor,
            regular: regular.min(MAX_ROWS_PER_ACCOUNT),
            batches: Vec::new(),
            posted_from_pending: 0,
            pending_total: pending.min(MAX_ROWS_PER_ACCOUNT),
            fresh_total: 0,
        }
    }

    pub fn posted_count(&self) -> u64 {
        self.regular + self.batches.iter().map(Batch::count).sum::<u64>()
    }

    pub fn pending_count(&self) -> u64 {
        self.pending_total.saturating_sub(self.posted_from_pending)
    }

    /// Posted rows flagged `duplicated`.
    pub fn duplicated_count(&self) -> u64 {
        self.batches.iter().filter(|b| matches!(b, Batch::Fresh { count, .. } if *count >= 2)).count() as u64
    }

    /// Settles up to `count` pending rows (they become posted with new ids).
    pub fn settle(&mut self, count: u64) {
        if count == 0 {
            return;
        }
        self.batches.push(Batch::Settled { first_pending: self.posted_from_pending, count });
        self.posted_from_pending += count;
    }

    /// Adds `count` new posted rows made on `made_on`.
    pub fn add_fresh(&mut self, count: u64, made_on: NaiveDate) {
        if count == 0 {
            return;
        }
        self.batches.push(Batch::Fresh { first: self.fresh_total, count, made_on });
        self.fresh_total += count;
    }

    fn origin(&self, index: u64) -> Origin {
        if index < self.regular {
            return Origin::History(index);
        }
        let mut start = self.regular;
        for batch in &self.batches {
            let offset = index - start;
            if offset < batch.count() {
                return match *batch {
                    Batch::Settled { first_pending, .. } => Origin::Settled(first_pending + offset),
                    Batch::Fresh { first, count, made_on } => {
                        let duplicated = count >= 2 && offset == count - 1;
                        let n = if duplicated { first } else { first + offset };
                        Origin::Fresh { n, made_on, duplicated }
                    }
                };
            }
            start += batch.count();
        }
        Origin::History(index)
    }

    fn is_duplicated(&self, index: u64) -> bool {
        matches!(self.origin(index), Origin::Fresh { duplicated: true, .. })
    }

    fn id_base(&self) -> u64 {
        TX_ID_BASE + self.seq * ACCOUNT_ID_SPAN
    }

    pub fn row_id(&self, row: Row) -> u64 {
        match row {
            Row::Posted(index) => self.id_base() + index,
            Row::Pending(n) => self.id_base() + PENDING_ID_OFFSET + n,
        }
    }

    /// Ids of this account's current rows of one kind, as a half-open range.
    pub fn id_range(&self, pending: bool) -> (u64, u64) {
        if pending {
            let start = self.id_base() + PENDING_ID_OFFSET;
            (start + self.posted_from_pending, start + self.pending_total)
        } else {
            (self.id_base(), self.id_base() + self.posted_count())
        }
    }

    pub fn row_for_id(&self, id: u64, pending: bool) -> Row {
        if pending {
            Row::Pending(id - self.id_base() - PENDING_ID_OFFSET)
        } else {
            Row::Posted(id - self.id_base())
        }
    }

    /// Ids of the duplicated rows, ascending.
    fn duplicated_ids(&self) -> Vec<u64> {
        let mut ids = Vec::new();
        let mut start = self.regular;
        for batch in &self.batches {
            if let Batch::Fresh { count, .. } = batch {
                if *count >= 2 {
                    ids.push(self.id_base() + start + count - 1);
                }
            }
            start += batch.count();
        }
        ids
    }
}

/// Rows of one kind across `accounts` (sorted by `seq`), from `from_id` on, at most `limit`,
/// plus the id of the first row not returned.
pub fn page_rows(
    accounts: &[&AccountShape],
    from_id: u64,
    filter: RowFilter,
    limit: usize,
) -> (Vec<(usize, Row)>, Option<u64>) {
    let mut rows = Vec::with_capacity(limit.min(1024));
    for (position, account) in accounts.iter().enumerate() {
        if filter == RowFilter::Duplicated {
            for id in account.duplicated_ids().into_iter().filter(|id| *id >= from_id) {
                if rows.len() == limit {
                    return (rows, Some(id));
                }
                rows.push((position, account.row_for_id(id, false)));
            }
            continue;
        }
        let pending = filter == RowFilter::Pending;
        let (low, high) = account.id_range(pending);
        let mut id = low.max(from_id);
        while id < high {
            let row = account.row_for_id(id, pending);
            let hidden = matches!(row, Row::Posted(index) if account.is_duplicated(index));
            if !hidden {
                if rows.len() == limit {
                    return (rows, Some(id));
                }
                rows.push((position, row));
            }
            id += 1;
        }
    }
    (rows, None)
}

/// 256 bits of deterministic noise for (account, kind, n).
fn noise(account_id: &str, kind: &str, n: u64) -> [u64; 4] {
    let digest = Sha256::new()
        .chain_update(account_id.as_bytes())
        .chain_update([0u8])
        .chain_update(kind.as_bytes())
        .chain_update(n.to_be_bytes())
        .finalize();
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *word = u64::from_be_bytes(bytes);
    }
    words
}

struct Counterparty {
    name: &'static str,
    category: &'static str,
    income: bool,
}

const COUNTERPARTIES: &[Counterparty] = &[
    Counterparty { name: "Green Grocer Market", category: "groceries", income: false },
    Counterparty { name: "Corner Coffee", category: "coffee_shops", income: false },
    Counterparty { name: "ACME Corporation Payroll", category: "salary", income: true },
    Counterparty { name: "City Apartments Rent", category: "rent", income: false },
    Counterparty { name: "Bright Power Electricity", category: "utilities", income: false },
    Counterparty { name: "Online Shop Ltd", category: "shopping", income: false },
    Counterparty { name: "Trattoria Roma", category: "restaurants", income: false },
    Counterparty { name: "FuelPoint Station", category: "gasoline_fuel", income: false },
    Counterparty { name: "Health Pharmacy", category: "pharmacy", income: false },
    Counterparty { name: "Mobile Telecom", category: "mobile_phone", income: false },
    Counterparty { name: "Client Invoice Payment", category: "business_income", income: true },
    Counterparty { name: "SafeHome Insurance", category: "insurance", income: false },
    Counterparty { name: "Starlight Cinema", category: "entertainment", income: false },
    Counterparty { name: "Rail Travel Tickets", category: "transport", income: false },
    Counterparty { name: "Refund from Online Shop Ltd", category: "refund", income: true },
];

fn iban_like(country: &str, value: u64) -> String {
    format!("{country}{:02}{:018}", value % 97, value % 1_000_000_000_000_000_000)
}

fn date_string(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// One transaction, exactly as `GET /transactions` writes it (fields in alphabetical order, as the
/// sandbox has always written them; a typed row is written without building a JSON tree first).
#[derive(Debug, Serialize)]
pub struct TransactionRow<'a> {
    account_id: &'a str,
    amount: f64,
    category: &'static str,
    created_at: &'a str,
    currency_code: &'a str,
    description: String,
    duplicated: bool,
    extra: TransactionExtra,
    id: String,
    made_on: String,
    mode: &'static str,
    status: &'static str,
    updated_at: &'a str,
}

/// A transaction's `extra`: the payer's fields on income, the payee's on spending.
#[derive(Debug, Serialize)]
struct TransactionExtra {
    account_number: String,
    additional: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payee: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payee_information: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer_information: Option<String>,
    posting_date: String,
    time: String,
}

/// The JSON of one transaction, exactly as `GET /transactions` returns it.
pub fn transaction_json(account: &AccountShape, row: Row, created_at: &str) -> Value {
    serde_json::to_value(transaction_row(account, row, created_at)).unwrap_or(Value::Null)
}

/// One transaction as `GET /transactions` writes it.
pub fn transaction_row<'a>(account: &'a AccountShape, row: Row, created_at: &'a str) -> TransactionRow<'a> {
    // Posted rows that were pending keep the pending row's content (same amount, payee, date)
    // under a new id, like a bank settling a card payment.
    let (kind, n, status, fresh_date, duplicated) = match row {
        Row::Posted(index) => match account.origin(index) {
            Origin::History(n) => ("posted", n, "posted", None, false),
            Origin::Settled(n) => ("pending", n, "posted", None, false),
            Origin::Fresh { n, made_on, duplicated } => ("fresh", n, "posted", Some(made_on), duplicated),
        },
        Row::Pending(n) => ("pending", n, "pending", None, false),
    };
    let [a, _, c, d] = noise(&account.id, kind, n);
    let party = &COUNTERPARTIES[(a % COUNTERPARTIES.len() as u64) as usize];
    let amount = row_cents(&account.id, kind, n) as f64 / 100.0;
    let made_on = if let Some(date) = fresh_date {
        date
    } else if kind == "posted" {
        // Spread the rows over a year, oldest first, so dates grow with ids.
        let total = account.regular.max(1);
        let days_back = ((total - 1 - n.min(total - 1)) as u128 * 365 / total as u128) as i64;
        account.anchor.checked_sub_signed(ChronoDuration::days(days_back)).unwrap_or(account.anchor)
    } else {
        // Four pending rows a day after the anchor (saturating for absurd counts).
        ChronoDuration::try_days((n / 4) as i64)
            .and_then(|offset| account.anchor.checked_add_signed(offset))
            .unwrap_or(account.anchor)
    };
    let id = account.row_id(row);
    let counterparty_account = iban_like("XF", c);
    let (payee, payer) = if party.income { (None, Some(party.name)) } else { (Some(party.name), None) };
    let extra = TransactionExtra {
        id: format!(
            "BNK{}{}",
            account.seq,
            match kind {
                "posted" => n,
                "pending" => 9_000_000_000 + n,
                _ => 8_000_000_000 + n,
            }
        ),
        payee_information: payee.map(|_| counterparty_account.clone()),
        payer_information: payer.map(|_| counterparty_account.clone()),
        payee,
        payer,
        account_number: counterparty_account,
        posting_date: date_string(
            made_on.checked_add_signed(ChronoDuration::days(i64::from(status == "posted"))).unwrap_or(made_on),
        ),
        time: format!("{:02}:{:02}:{:02}", d % 24, (d >> 8) % 60, (d >> 16) % 60),
        additional: format!("Reference {:08}", d % 100_000_000),
    };
    TransactionRow {
        id: id.to_string(),
        account_id: &account.id,
        duplicated,
        mode: "normal",
        status,
        made_on: date_string(made_on),
        amount,
        currency_code: &account.currency_code,
        description: format!("{} {}", party.name, d % 10_000),
        category: party.category,
        extra,
        created_at,
        updated_at: created_at,
    }
}

/// The amount of a row, in cents: income from some counterparties, spending to the others.
fn row_cents(account_id: &str, kind: &str, n: u64) -> i64 {
    let [a, b, ..] = noise(account_id, kind, n);
    let party = &COUNTERPARTIES[(a % COUNTERPARTIES.len() as u64) as usize];
    if party.income {
        (b % 400_000) as i64 + 5_000
    } else {
        -((b % 25_000) as i64 + 50)
    }
}

/// The account's balance, as a bank reports it: a stable, plausible amount for its history (not the
/// sum of its rows, which for a million rows would be too slow to compute on every request), moved by
/// every row posted since (settled pending rows, refreshes' new rows; not the rows Salt Edge flags as
/// duplicated), as a real balance moves with its transactions.
pub fn account_balance(account: &AccountShape) -> f64 {
    let [a, ..] = noise(&account.id, "balance", 0);
    let mut cents = (a % 2_000_000) as i64 + 10_000;
    for batch in &account.batches {
        match *batch {
            Batch::Settled { first_pending, count } => {
                cents +=
                    (first_pending..first_pending + count).map(|n| row_cents(&account.id, "pending", n)).sum::<i64>();
            }
            Batch::Fresh { first, count, .. } => {
                // With two or more, the last row repeats the first (flagged duplicated): not counted.
                let counted = if count >= 2 { count - 1 } else { count };
                cents += (first..first + counted).map(|n| row_cents(&account.id, "fresh", n)).sum::<i64>();
            }
        }
    }
    cents as f64 / 100.0
}

pub fn account_iban(seq: u64) -> String {
    iban_like("XF", seq.wrapping_mul(7_919).wrapping_add(1_000_003))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(regular: u64, pending: u64) -> AccountShape {
        AccountShape {
            id: "1000000000000000007".into(),
            seq: 3,
            currency_code: "EUR".into(),
            anchor: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
            regular,
            batches: Vec::new(),
            posted_from_pending: 0,
            pending_total: pending,
            fresh_total: 0,
        }
    }

    #[test]
    fn rows_are_deterministic_and_ids_increase() {
        let account = shape(1_000_000, 2);
        let first = transaction_json(&account, Row::Posted(0), "t");
        assert_eq!(first, transaction_json(&account, Row::Posted(0), "t"));
        let last = transaction_json(&account, Row::Posted(999_999), "t");
        let first_id: u64 = first["id"].as_str().unwrap().parse().unwrap();
        let last_id: u64 = last["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(last_id - first_id, 999_999);
        assert!(first["made_on"].as_str() < last["made_on"].as_str());
        assert_eq!(last["made_on"], "2026-01-31");
    }

    #[test]
    fn a_written_row_reads_as_the_json_tree_of_the_same_row() {
        // Rows are written straight from `TransactionRow`; its fields must come out in the order a JSON
        // object's keys always had here (sorted), with the payee's fields on spending, the payer's on income.
        let account = shape(40, 0);
        let (mut income, mut spending) = (0, 0);
        for n in 0..40 {
            let row = transaction_row(&account, Row::Posted(n), "2026-01-31T10:00:00Z");
            let written = serde_json::to_string(&row).unwrap();
            let tree = serde_json::to_value(&row).unwrap();
            assert_eq!(written, serde_json::to_string(&tree).unwrap());
            let extra = tree["extra"].as_object().unwrap();
            assert_ne!(extra.contains_key("payee"), extra.contains_key("payer"), "{written}");
            assert_eq!(extra.contains_key("payee"), extra.contains_key("payee_information"), "{written}");
            if tree["amount"].as_f64().unwrap() > 0.0 {
                income += 1;
                assert!(extra.contains_key("payer"), "{written}");
            } else {
                spending += 1;
                assert!(extra.contains_key("payee"), "{written}");
            }
        }
        assert!(income > 0 && spending > 0);
    }

    #[test]
    fn paging_has_no_gaps_across_accounts() {
        let a = shape(5, 1);
        let mut b = shape(3, 0);
        b.seq = 4;
        b.id = "other".into();
        let accounts = [&a, &b];
        let (rows, next) = page_rows(&accounts, 0, RowFilter::Posted, 6);
        assert_eq!(rows.len(), 6);
        assert_eq!(next, Some(b.row_id(Row::Posted(1))));
        let (rest, next) = page_rows(&accounts, next.unwrap(), RowFilter::Posted, 6);
        assert_eq!(rest.len(), 2);
        assert_eq!(next, None);
        let (pending, _) = page_rows(&accounts, 0, RowFilter::Pending, 10);
        assert_eq!(pending, vec![(0, Row::Pending(0))]);
    }

    #[test]
    fn the_balance_moves_with_the_rows_posted_after_the_history() {
        let today = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
        let mut account = shape(30, 4);
        let opening = account_balance(&account);
        let amount = |account: &AccountShape, id: u64| {
            transaction_json(account, account.row_for_id(id, false), "2026-02-02T00:00:00Z")["amount"].as_f64().unwrap()
        };
        account.settle(2);
        account.add_fresh(3, today);
        let (start, end) = account.id_range(false);
        let duplicated = account.duplicated_ids();
        let added: f64 = (start + 30..end).filter(|id| !duplicated.contains(id)).map(|id| amount(&account, id)).sum();
        assert_eq!(duplicated.len(), 1);
        assert!(
            (account_balance(&account) - (opening + added)).abs() < 0.005,
            "{} vs {}",
            account_balance(&account),
            opening + added
        );
        assert_eq!(account_balance(&shape(30, 4)), opening, "the same account, the same balance");
    }

    #[test]
    fn settled_pending_row_keeps_content_with_new_id() {
        let mut account = shape(10, 1);
        let pending = transaction_json(&account, Row::Pending(0), "t");
        account.settle(1);
        let posted = transaction_json(&account, Row::Posted(10), "t");
        assert_eq!(pending["amount"], posted["amount"]);
        assert_eq!(pending["description"], posted["description"]);
        assert_ne!(pending["id"], posted["id"]);
        assert_eq!(posted["status"], "posted");
        assert_eq!(account.pending_count(), 0);
    }
}
