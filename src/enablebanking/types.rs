//! The Enable Banking objects the client reads and writes, named and shaped as the API reference's
//! schemas (`ASPSPData`, `StartAuthorizationRequest`, `AuthorizeSessionResponse`, `GetSessionResponse`,
//! `AccountResource`, `HalBalances`, `HalTransactions`, `Transaction`, `GetApplicationResponse`). Fields
//! the reference marks required are required here; the others are optional, a `null` is read as absent,
//! and unknown fields are ignored (the API grows).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Reads `null` as the type's default (an empty list).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `GET /application` (`GetApplicationResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub kid: String,
    /// `SANDBOX` or `PRODUCTION`.
    pub environment: String,
    pub redirect_urls: Vec<String>,
    pub active: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub countries: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub services: Vec<String>,
}

/// A bank, as `GET /aspsps` lists it (`ASPSPData`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Aspsp {
    pub name: String,
    /// ISO 3166 two-letter code.
    pub country: String,
    #[serde(default)]
    pub logo: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub psu_types: Vec<PsuType>,
    /// Longest consent the bank gives, in seconds.
    #[serde(default)]
    pub maximum_consent_validity: Option<i64>,
    #[serde(default)]
    pub beta: bool,
    #[serde(default)]
    pub bic: Option<String>,
    /// Headers that mark a read as made with the user present (the bridge reads without the user).
    #[serde(default, deserialize_with = "null_as_default")]
    pub required_psu_headers: Vec<String>,
    /// Sandbox environment only: users to log in with.
    #[serde(default)]
    pub sandbox: Option<SandboxInfo>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SandboxInfo {
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<SandboxUser>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SandboxUser {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub otp: Option<String>,
}

/// `GET /aspsps` (`GetAspspsResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct AspspList {
    pub aspsps: Vec<Aspsp>,
}

/// Who the consent is for (`PSUType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PsuType {
    Business,
    Personal,
}

impl PsuType {
    pub fn as_str(self) -> &'static str {
        match self {
            PsuType::Business => "business",
            PsuType::Personal => "personal",
        }
    }
}

/// A bank named the way Enable Banking names it (`ASPSP`): by name and country, not by an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct AspspId {
    pub name: String,
    pub country: String,
}

/// What the consent covers (`Access`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Access {
    /// RFC 3339 with an offset; at most now + the bank's `maximum_consent_validity`.
    pub valid_until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balances: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<bool>,
}

impl Access {
    pub fn valid_until_utc(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.valid_until).ok().map(|t| t.with_timezone(&Utc))
    }
}

/// `POST /auth` (`StartAuthorizationRequest`), the fields the bridge uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartAuthorization {
    pub access: Access,
    pub aspsp: AspspId,
    /// Returned unchanged in the redirect back to `redirect_url`.
    pub state: String,
    pub redirect_url: String,
    pub psu_type: PsuType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The application's identifier of the user; its hash comes back with the session (`psu_id_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psu_id: Option<String>,
}

/// `POST /auth`'s answer (`StartAuthorizationResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Authorization {
    /// Where to send the user.
    pub url: String,
    pub authorization_id: String,
    #[serde(default)]
    pub psu_id_hash: Option<String>,
}

/// `POST /sessions`'s answer (`AuthorizeSessionResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Session {
    pub session_id: String,
    pub accounts: Vec<AccountResource>,
    pub aspsp: AspspId,
    pub psu_type: PsuType,
    pub access: Access,
}

/// `SessionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Invalid,
    PendingAuthorization,
    ReturnedFromBank,
    Authorized,
    Expired,
    Closed,
    Revoked,
    Cancelled,
    /// A status this client does not know yet.
    #[serde(other)]
    Unknown,
}

/// `GET /sessions/{id}` (`GetSessionResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SessionInfo {
    pub status: SessionStatus,
    /// The accounts' `uid`s.
    #[serde(default, deserialize_with = "null_as_default")]
    pub accounts: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub accounts_data: Vec<SessionAccount>,
    pub aspsp: AspspId,
    pub psu_type: PsuType,
    /// The hash of the `psu_id` the authorization was started with (bound to the application).
    #[serde(default)]
    pub psu_id_hash: Option<String>,
    pub access: Access,
    pub created: String,
    #[serde(default)]
    pub authorized: Option<String>,
    #[serde(default)]
    pub closed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SessionAccount {
    pub uid: String,
    pub identification_hash: String,
}

/// `AccountIdentification`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AccountIdentification {
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub other: Option<GenericIdentification>,
}

impl AccountIdentification {
    /// The IBAN, else the other identification.
    pub fn number(&self) -> Option<&str> {
        self.iban.as_deref().or(self.other.as_ref().map(|o| o.identification.as_str())).filter(|n| !n.is_empty())
    }
}

/// `GenericIdentification`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct GenericIdentification {
    pub identification: String,
    pub scheme_name: String,
}

/// An account (`AccountResource`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct AccountResource {
    #[serde(default)]
    pub account_id: Option<AccountIdentification>,
    /// Account holder(s) name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description set by the user or the bank.
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    pub cash_account_type: String,
    pub currency: String,
    /// What balances and transactions are read with; valid while the session is `AUTHORIZED`; absent
    /// when they cannot be read (a blocked or closed account).
    #[serde(default)]
    pub uid: Option<String>,
    /// Stable across sessions: how the same account is recognised after a new authorization.
    pub identification_hash: String,
}

impl AccountResource {
    /// The name a person knows the account by: the bank's description, else its product, else the
    /// holder's name, else the number.
    pub fn display_name(&self) -> String {
        [self.details.as_deref(), self.product.as_deref(), self.name.as_deref(), self.number()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|s| !s.is_empty())
            .unwrap_or("Account")
            .to_string()
    }

    pub fn number(&self) -> Option<&str> {
        self.account_id.as_ref().and_then(AccountIdentification::number)
    }
}

/// `AmountType`: a decimal text and its currency.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Amount {
    pub currency: String,
    pub amount: String,
}

impl Amount {
    /// The amount as a number; `None` when it is not the documented `-?\d+(\.\d+)?`.
    pub fn value(&self) -> Option<f64> {
        let text = self.amount.trim();
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        let well_formed = !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        if well_formed {
            text.parse().ok()
        } else {
            None
        }
    }
}

/// `GET /accounts/{id}/balances` (`HalBalances`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Balances {
    pub balances: Vec<Balance>,
}

/// `BalanceResource`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Balance {
    pub name: String,
    pub balance_amount: Amount,
    /// `BalanceStatus`: `CLBD` (booked), `ITAV` (interim available), `XPCD` (instant), …
    pub balance_type: String,
    #[serde(default)]
    pub reference_date: Option<String>,
}

impl Balances {
    /// The balance a ledger compares with: the first booked kind present (closing, interim, opening
    /// booked), else an expected or available one, else the first listed.
    pub fn booked(&self) -> Option<&Balance> {
        const PREFERENCE: [&str; 7] = ["CLBD", "ITBD", "OPBD", "XPCD", "CLAV", "ITAV", "OPAV"];
        PREFERENCE
            .iter()
            .find_map(|kind| self.balances.iter().find(|b| b.balance_type == *kind))
            .or(self.balances.first())
    }
}

/// A party of a transaction (`PartyIdentification`), the part the bridge reads.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Party {
    #[serde(default)]
    pub name: Option<String>,
}

/// `CreditDebitIndicator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CreditDebit {
    #[serde(rename = "CRDT")]
    Credit,
    #[serde(rename = "DBIT")]
    Debit,
}

/// A transaction (`Transaction`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Transaction {
    /// The bank's identifier: unique and immutable for the account across sessions; may be absent.
    #[serde(default)]
    pub entry_reference: Option<String>,
    pub transaction_amount: Amount,
    #[serde(default)]
    pub creditor: Option<Party>,
    #[serde(default)]
    pub creditor_account: Option<AccountIdentification>,
    #[serde(default)]
    pub debtor: Option<Party>,
    #[serde(default)]
    pub debtor_account: Option<AccountIdentification>,
    pub credit_debit_indicator: CreditDebit,
    /// `TransactionStatus`: `BOOK` (posted), `PDNG` (pending), `HOLD`, `SCHD`, `CNCL`, `RJCT`, `OTHR`.
    pub status: String,
    #[serde(default)]
    pub booking_date: Option<NaiveDate>,
    #[serde(default)]
    pub value_date: Option<NaiveDate>,
    #[serde(default)]
    pub transaction_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub remittance_information: Vec<String>,
    #[serde(default)]
    pub reference_number: Option<String>,
    /// For fetching details; not an identity (it may change between reads).
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Transaction {
    pub fn is_booked(&self) -> bool {
        self.status == "BOOK"
    }

    pub fn is_pending(&self) -> bool {
        self.status == "PDNG"
    }

    /// The amount with its sign: debits negative (`transaction_amount` itself is unsigned).
    pub fn signed_amount(&self) -> Option<f64> {
        let value = self.transaction_amount.value()?.abs();
        Some(match self.credit_debit_indicator {
            CreditDebit::Credit => value,
            CreditDebit::Debit => -value,
        })
    }

    /// The other party: the creditor of a debit, the debtor of a credit.
    pub fn counterparty(&self) -> Option<&str> {
        let party = match self.credit_debit_indicator {
            CreditDebit::Debit => self.creditor.as_ref(),
            CreditDebit::Credit => self.debtor.as_ref(),
        };
        party.and_then(|p| p.name.as_deref()).map(str::trim).filter(|n| !n.is_empty())
    }

    /// The other party's account number.
    pub fn counterparty_account(&self) -> Option<&str> {
        let account = match self.credit_debit_indicator {
            CreditDebit::Debit => self.creditor_account.as_ref(),
            CreditDebit::Credit => self.debtor_account.as_ref(),
        };
        account.and_then(AccountIdentification::number)
    }

    /// The date the ledger uses: booking, else value, else transaction date.
    pub fn date(&self) -> Option<NaiveDate> {
        self.booking_date.or(self.value_date).or(self.transaction_date)
    }
}

/// One page of `GET /accounts/{id}/transactions` (`HalTransactions`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TransactionsPage {
    pub transactions: Vec<Transaction>,
    /// The next page's key; absent, `null` or empty on the last page. Valid only in this session.
    #[serde(default)]
    pub continuation_key: Option<String>,
}

/// `SuccessResponse` (`DELETE /sessions/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Success {
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_transaction_reads_with_sign_party_and_date() {
        let tx: Transaction = serde_json::from_value(serde_json::json!({
            "entry_reference": "2026112700001",
            "transaction_amount": {"currency": "EUR", "amount": "12.30"},
            "creditor": {"name": "Acme Oy"},
            "creditor_account": {"iban": "FI1737631867613465"},
            "debtor": null,
            "credit_debit_indicator": "DBIT",
            "status": "BOOK",
            "booking_date": "2026-11-27",
            "value_date": "2026-11-26",
            "remittance_information": ["Invoice 42"],
            "transaction_id": null,
            "some_new_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(tx.signed_amount(), Some(-12.3));
        assert_eq!(tx.counterparty(), Some("Acme Oy"));
        assert_eq!(tx.counterparty_account(), Some("FI1737631867613465"));
        assert_eq!(tx.date(), NaiveDate::from_ymd_opt(2026, 11, 27));
        assert!(tx.is_booked() && !tx.is_pending());
    }

    #[test]
    fn amounts_outside_the_documented_pattern_are_not_numbers() {
        let amount = |a: &str| Amount { currency: "EUR".into(), amount: a.into() }.value();
        assert_eq!(amount("1.23"), Some(1.23));
        assert_eq!(amount("-7"), Some(-7.0));
        for bad in ["", "1e9", "NaN", "inf", "1.", ".5", "1,5", "--1", " "] {
            assert_eq!(amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_session_statuses_and_null_lists_are_read() {
        let info: SessionInfo = serde_json::from_value(serde_json::json!({
            "status": "SOMETHING_NEW", "accounts": null, "accounts_data": [],
            "aspsp": {"name": "Nordea", "country": "FI"}, "psu_type": "business",
            "psu_id_hash": "h", "access": {"valid_until": "2026-12-01T12:00:00.000000+00:00"},
            "created": "2026-11-27T12:00:00+00:00"
        }))
        .unwrap();
        assert_eq!(info.status, SessionStatus::Unknown);
        assert!(info.accounts.is_empty());
        assert!(info.access.valid_until_utc().is_some());
    }

    #[test]
    fn the_booked_balance_is_preferred() {
        let balance = |kind: &str, amount: &str| Balance {
            name: kind.into(),
            balance_amount: Amount { currency: "EUR".into(), amount: amount.into() },
            balance_type: kind.into(),
            reference_date: None,
        };
        let balances = Balances { balances: vec![balance("ITAV", "5"), balance("CLBD", "4")] };
        assert_eq!(balances.booked().map(|b| b.balance_type.as_str()), Some("CLBD"));
        let only_other = Balances { balances: vec![balance("INFO", "1")] };
        assert_eq!(only_other.booked().map(|b| b.balance_type.as_str()), Some("INFO"));
        assert!(Balances { balances: vec![] }.booked().is_none());
    }
}
