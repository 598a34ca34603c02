//! `GET /transactions`.

use super::*;

pub(super) fn list_transactions(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    // v6: posted, non-duplicated rows by default; `pending=true` lists the pending rows only,
    // `duplicated=true` the duplicated ones only (a pending row is never flagged duplicated).
    let filter = match (call.flag("pending")?, call.flag("duplicated")?) {
        (false, false) => RowFilter::Posted,
        (true, false) => RowFilter::Pending,
        (false, true) => RowFilter::Duplicated,
        (true, true) => return Ok(Reply::page(Vec::<Value>::new(), None)),
    };
    // Copy the (small) account shapes out, then generate rows without holding the lock.
    let shapes: Vec<(AccountShape, String)> = {
        let state = call.shared.lock();
        let connection = data_connection(call, &state)?;
        let account_filter = call.query("account_id");
        let shapes: Vec<(AccountShape, String)> = connection
            .accounts
            .iter()
            .filter(|a| account_filter.is_none_or(|id| a.shape.id == id))
            .map(|a| (a.shape.clone(), state::timestamp(a.created_at)))
            .collect();
        if let (Some(id), true) = (account_filter, shapes.is_empty()) {
            return Err(ApiError::new(404, "AccountNotFound", format!("Account with id: '{id}' was not found.")));
        }
        shapes
    };
    let refs: Vec<&AccountShape> = shapes.iter().map(|(shape, _)| shape).collect();
    let (rows, next_id) = data::page_rows(&refs, from_id, filter, per_page);
    let items: Vec<data::TransactionRow> = rows
        .into_iter()
        .map(|(position, row)| {
            let (shape, created_at) = &shapes[position];
            data::transaction_row(shape, row, created_at)
        })
        .collect();
    Ok(Reply::page(items, next_id.map(|id| call.next_page(id))))
}
