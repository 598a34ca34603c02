//! Salt Edge's objects in the storage's terms: a provider as an institution, an account, and the rows of
//! a transactions page that are to be stored as posted or as pending.

use crate::error::{Error, Result};
use crate::saltedge::{Account, Provider as SaltEdgeProvider, Transaction};
use crate::sync::store::accounts::AccountRecord;
use crate::sync::store::institutions::InstitutionRecord;
use crate::sync::store::transactions::TransactionRecord;
use crate::types::{Provider, TransactionStatus};

pub fn institution(p: &SaltEdgeProvider) -> InstitutionRecord {
    InstitutionRecord {
        provider: Provider::SaltEdge,
        code: p.code.clone(),
        name: p.name.clone(),
        country_code: p.country_code.clone(),
        status: p.status.clone(),
        mode: p.mode.clone(),
        max_consent_days: p.max_consent_days.map(i64::from),
        supported_fetch_scopes: p.supported_fetch_scopes.clone(),
        logo_url: p.logo_url.clone(),
    }
}

pub fn account(a: &Account) -> AccountRecord {
    AccountRecord {
        online_identifier: a.id.clone(),
        name: a.name.clone(),
        account_number: a.extra.iban.clone().or_else(|| a.extra.account_number.clone()),
        balance: Some(a.balance),
        currency_code: a.currency_code.clone(),
        session_account_id: None,
    }
}

/// A Salt Edge transaction's own `status`; anything else (missing, unknown) is neither and is skipped.
fn transaction_status(t: &Transaction) -> Option<TransactionStatus> {
    match t.status.as_str() {
        "posted" => Some(TransactionStatus::Posted),
        "pending" => Some(TransactionStatus::Pending),
        _ => None,
    }
}

fn payment_ref(t: &Transaction) -> String {
    let mut parts = vec![t.description.trim().to_string()];
    if let Some(info) = t.extra.information.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(info.trim().to_string());
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        "/".to_string()
    } else {
        parts.join(" — ")
    }
}

fn partner_name(t: &Transaction) -> Option<String> {
    let candidate = if t.amount < 0.0 { t.extra.payee.as_ref() } else { t.extra.payer.as_ref() };
    candidate.or(t.extra.payee.as_ref()).or(t.extra.payer.as_ref()).filter(|s| !s.is_empty()).cloned()
}

/// The rows of a page to store with `status`: their own `status` must say so (a `pending=true` query is
/// not trusted alone), rows Salt Edge flags `duplicated` (a repeat of one already delivered) are never
/// imported as new, and a row without a valid `made_on` date is skipped (and logged).
pub fn transactions(rows: &[Transaction], status: TransactionStatus) -> Result<Vec<TransactionRecord>> {
    let mut records = Vec::new();
    for t in rows.iter().filter(|t| transaction_status(t) == Some(status) && !t.duplicated) {
        let Some(date) = t.made_on_date() else {
            tracing::warn!(transaction = %t.id, "skipping a transaction without a valid made_on date");
            continue;
        };
        records.push(TransactionRecord {
            identifier: t.id.clone(),
            date,
            amount: t.amount,
            currency_code: t.currency_code.clone(),
            payment_ref: payment_ref(t),
            partner_name: partner_name(t),
            account_number: t.extra.account_number.clone(),
            raw_data: serde_json::to_string(t).map_err(|e| Error::internal("encoding a transaction", e))?,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, status: &str, duplicated: bool, made_on: &str) -> Transaction {
        Transaction { id: id.into(), status: status.into(), duplicated, made_on: made_on.into(), ..Default::default() }
    }

    #[test]
    fn only_rows_of_the_wanted_status_not_duplicated_and_dated_are_imported() {
        let rows = [
            row("1", "posted", false, "2026-11-27"),
            row("2", "pending", false, "2026-11-27"),
            row("3", "posted", true, "2026-11-27"),
            row("4", "", false, "2026-11-27"),
            row("5", "posted", false, "27/11/2026"),
        ];
        let ids = |status| transactions(&rows, status).unwrap().into_iter().map(|t| t.identifier).collect::<Vec<_>>();
        assert_eq!(ids(TransactionStatus::Posted), ["1"]);
        assert_eq!(ids(TransactionStatus::Pending), ["2"]);
    }
}
