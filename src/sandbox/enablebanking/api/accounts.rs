//! The account endpoints: details, balances and paginated transactions, with the session checks and the
//! bank's limit on reads made without the user.

use chrono::{Duration as ChronoDuration, NaiveDate};
use serde_json::{json, Value};

use super::super::super::endless_body::EndlessBody;
use super::super::data::{self, BankBehaviour, BANKS};
use super::super::state::{self, Cursor, EbState, FaultMode, ReadQuery};
use super::{account_json, ended_error, uuid_segment, ApiError, ApiResult, Call};

/// History listed when a read gives no `date_from`.
const DEFAULT_HISTORY_DAYS: i64 = 90;
/// Oldest `date_from` the banks serve.
const MAX_HISTORY_DAYS: i64 = 730;

/// The account behind `uid`, if its session may be read now; counts an unattended read when `counts`.
fn readable<'s>(
    call: &Call,
    state: &'s mut EbState,
    uid: &str,
    counts: bool,
) -> Result<&'s mut state::BankAccount, ApiError> {
    uuid_segment(uid, "account_id")?;
    let now = state.now();
    let account = state
        .accounts
        .get(uid)
        .cloned()
        .ok_or_else(|| ApiError::new(404, "ACCOUNT_DOES_NOT_EXIST", "No account found matching provided id"))?;
    let session = state
        .sessions
        .get(&account.session_id)
        .ok_or_else(|| ApiError::new(404, "ACCOUNT_DOES_NOT_EXIST", "No account found matching provided id"))?;
    let status = session.status(now);
    if status != "AUTHORIZED" {
        return Err(ended_error(status));
    }
    let limit = call.shared.cfg.unattended_reads_per_day;
    let bank_account = state
        .bank_accounts
        .get_mut(&account.identification_hash)
        .ok_or_else(|| ApiError::new(404, "ACCOUNT_DOES_NOT_EXIST", "No account found matching provided id"))?;
    if BANKS[bank_account.bank].behaviour == BankBehaviour::Unavailable {
        return Err(ApiError::new(400, "ASPSP_ERROR", "Error interacting with ASPSP"));
    }
    if counts && !call.psu_present && !bank_account.take_unattended_read(now, limit) {
        return Err(ApiError::new(429, "ASPSP_RATE_LIMIT_EXCEEDED", "ASPSP Rate limit exceeded"));
    }
    Ok(bank_account)
}

pub(super) fn details(call: &Call, uid: &str) -> ApiResult {
    let mut guard = call.shared.lock();
    let state = &mut *guard;
    let hash = readable(call, state, uid, true)?.shape.identification_hash.clone();
    let psu_type = state
        .accounts
        .get(uid)
        .and_then(|a| state.sessions.get(&a.session_id))
        .map(|s| s.psu_type.clone())
        .unwrap_or_default();
    Ok(account_json(state, &hash, uid, &psu_type))
}

pub(super) fn balances(call: &Call, uid: &str) -> ApiResult {
    let mut guard = call.shared.lock();
    let state = &mut *guard;
    let today = state.now().date_naive().format("%Y-%m-%d").to_string();
    let account = readable(call, state, uid, true)?;
    let (booked, pending, currency) = (account.booked_cents(), account.pending_cents(), account.currency());
    let amount = |cents: i64| json!({ "currency": currency, "amount": data::cents_text(cents) });
    Ok(json!({ "balances": [
        { "name": "Booked balance", "balance_amount": amount(booked), "balance_type": "CLBD",
          "last_change_date_time": null, "reference_date": today, "last_committed_transaction": null },
        { "name": "Available balance", "balance_amount": amount(booked + pending), "balance_type": "ITAV",
          "last_change_date_time": null, "reference_date": today, "last_committed_transaction": null },
    ]}))
}

fn date_param(call: &Call, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    call.query(key)
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid(format!("{key} must be a date (YYYY-MM-DD)")))
        })
        .transpose()
}

pub(super) fn transactions(call: &Call, uid: &str) -> ApiResult {
    let query = ReadQuery {
        uid: uid.to_string(),
        date_from: date_param(call, "date_from")?,
        date_to: date_param(call, "date_to")?,
        status: call.query("transaction_status").map(str::to_string),
    };
    if let Some(status) = &query.status {
        if !matches!(status.as_str(), "BOOK" | "CNCL" | "HOLD" | "OTHR" | "PDNG" | "RJCT" | "SCHD") {
            return Err(ApiError::invalid("transaction_status is not a TransactionStatus"));
        }
    }
    if call.query("strategy").is_some_and(|s| !matches!(s, "default" | "longest")) {
        return Err(ApiError::invalid("strategy must be default or longest"));
    }
    let key = call.query("continuation_key").filter(|k| !k.is_empty());
    let mut guard = call.shared.lock();
    let state = &mut *guard;
    let today = state.now().date_naive();
    // An ended session is named as such before anything about the request is.
    readable(call, state, uid, false)?;
    let offset = match key {
        Some(key) => match state.cursors.get(key) {
            Some(cursor) if cursor.query == query => cursor.offset,
            _ => return Err(ApiError::new(422, "WRONG_CONTINUATION_KEY", "Wrong continuation key provided")),
        },
        None => {
            if query.date_to.is_some() && query.date_from.is_none() {
                return Err(ApiError::new(
                    422,
                    "DATE_TO_WITHOUT_DATE_FROM",
                    "date_from must be provided if date_to provided",
                ));
            }
            if query.date_from.is_some_and(|from| from > today) {
                return Err(ApiError::new(422, "DATE_FROM_IN_FUTURE", "date_from can not be in the future"));
            }
            if let (Some(from), Some(to)) = (query.date_from, query.date_to) {
                if from > to {
                    return Err(ApiError::new(
                        422,
                        "WRONG_DATE_INTERVAL",
                        "date_from should be less than or equal date_to",
                    ));
                }
            }
            if query.date_from.is_some_and(|from| from < today - ChronoDuration::days(MAX_HISTORY_DAYS)) {
                return Err(ApiError::new(422, "WRONG_TRANSACTIONS_PERIOD", "Wrong transactions period requested"));
            }
            0
        }
    };
    // Only the first page of a read counts against the bank's limit.
    let account = readable(call, state, uid, key.is_none())?;
    let currency = account.currency();
    let from = query.date_from.unwrap_or(today - ChronoDuration::days(DEFAULT_HISTORY_DAYS));
    let listed: Vec<data::Row> = account
        .rows()
        .into_iter()
        .filter(|row| row.date >= from && query.date_to.is_none_or(|to| row.date <= to))
        .filter(|row| match query.status.as_deref() {
            None => true,
            Some("BOOK") => row.booked,
            Some("PDNG") => !row.booked,
            Some(_) => false,
        })
        .collect();
    let page_size = call.shared.cfg.page_size;
    let end = (offset + page_size).min(listed.len());
    let page: Vec<Value> = listed[offset.min(end)..end].iter().map(|row| row.to_json(currency)).collect();
    let fault = call.fault.as_ref().map(|f| f.mode);
    let remembered = key.and_then(|k| state.cursors.get(k)).and_then(|c| c.next.clone());
    let next = match fault {
        Some(FaultMode::EndlessPages) => Some((state::secret_token(), end)),
        Some(FaultMode::RepeatPage) => Some((state::secret_token(), offset)),
        Some(FaultMode::RepeatKey) => Some(("the-same-key".to_string(), offset)),
        _ if end < listed.len() => Some((remembered.unwrap_or_else(state::secret_token), end)),
        _ => None,
    };
    if let Some((next_key, next_offset)) = &next {
        state.cursors.insert(next_key.clone(), Cursor { query: query.clone(), offset: *next_offset, next: None });
        if let Some(current) = key.and_then(|k| state.cursors.get_mut(k)) {
            current.next = Some(next_key.clone());
        }
    }
    Ok(json!({ "transactions": page, "continuation_key": next.map(|(key, _)| key) }))
}

/// An answer body that never ends (fault `endless_body`): a transactions page whose list goes on.
pub(super) fn endless_transactions() -> EndlessBody {
    EndlessBody::new(
        b"{\"transactions\": [",
        "{\"transaction_amount\": {\"currency\": \"EUR\", \"amount\": \"1.00\"}, \"credit_debit_indicator\": \"DBIT\", \"status\": \"BOOK\"},",
    )
}
