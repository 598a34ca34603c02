//! `POST /customers`, `GET /customers`, `GET /customers/{id}`, `DELETE /customers/{id}`.

use super::*;

pub(super) fn create_customer(call: &Call) -> ApiResult {
    let identifier = call
        .body_field("/data/identifier")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::new(400, "WrongRequestFormat", "`data.identifier` is required."))?;
    if identifier.len() > 255 {
        return Err(ApiError::new(406, "IdentifierInvalid", "Identifier is too long."));
    }
    let mut state = call.shared.lock();
    if state.customers.values().any(|c| c.identifier == identifier) {
        return Err(ApiError::new(409, "DuplicatedCustomer", "Customer with such identifier already exists."));
    }
    let id = state.new_id();
    let customer = state::CustomerRec { id, identifier: identifier.to_string(), created_at: call.now };
    let json = customer.to_json();
    state.customers.insert(id, customer);
    Ok(Reply::data(json))
}

pub(super) fn list_customers(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    let mut matching = state.customers.range(from_id..);
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|(_, c)| c.to_json()).collect();
    let next = matching.next().map(|(id, _)| call.next_page(*id));
    Ok(Reply::page(items, next))
}

pub(super) fn customer_not_found(id: &str) -> ApiError {
    ApiError::new(404, "CustomerNotFound", format!("Customer with id: '{id}' was not found."))
}

pub(super) fn show_customer(call: &Call, id: &str) -> ApiResult {
    let state = call.shared.lock();
    let customer =
        id.parse::<u64>().ok().and_then(|key| state.customers.get(&key)).ok_or_else(|| customer_not_found(id))?;
    Ok(Reply::data(customer.to_json()))
}

pub(super) fn remove_customer(call: &Call, id: &str) -> ApiResult {
    let mut state = call.shared.lock();
    let key = id.parse::<u64>().map_err(|_| customer_not_found(id))?;
    state.customers.remove(&key).ok_or_else(|| customer_not_found(id))?;
    let mut callbacks = Vec::new();
    state.connections.retain(|_, connection| {
        if connection.customer_id == key {
            callbacks.push(Callback::new("destroy", Some(connection.id), key, &json!({})));
            false
        } else {
            true
        }
    });
    state.sessions.retain(|_, session| match session.kind {
        SessionKind::Connect { customer_id, .. } => customer_id != key,
        _ => true,
    });
    let mut reply = Reply::data(json!({ "customer_id": id, "deleted": true }));
    reply.callbacks = callbacks;
    Ok(reply)
}
