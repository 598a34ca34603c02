//! `GET /accounts`.

use super::*;

pub(super) fn data_connection<'a>(call: &Call, state: &'a SandboxState) -> Result<&'a ConnectionRec, ApiError> {
    let id = call.required_query("connection_id")?;
    let connection = state.connections.get(&connection_key(id)?).ok_or_else(|| connection_not_found(id))?;
    check_owner(call, state, connection)?;
    check_consent(connection, call.now)?;
    Ok(connection)
}

pub(super) fn list_accounts(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    let connection = data_connection(call, &state)?;
    let mut matching = connection.accounts.iter().filter(|a| a.shape.id.parse::<u64>().is_ok_and(|id| id >= from_id));
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|a| a.to_json(connection.id)).collect();
    let next = matching.next().and_then(|a| a.shape.id.parse::<u64>().ok()).map(|id| call.next_page(id));
    Ok(Reply::page(items, next))
}
