//! `GET /consents`, `GET /consents/{id}`, `PUT|POST /consents/{id}/revoke`.

use super::*;

pub(super) fn list_consents(call: &Call) -> ApiResult {
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    let connection = consent_connection(call, &state)?;
    let mut matching = connection.consents.iter().filter(|c| c.id >= from_id);
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|c| c.to_json(connection, call.now)).collect();
    let next = matching.next().map(|c| call.next_page(c.id));
    Ok(Reply::page(items, next))
}

pub(super) fn consent_not_found(id: &str) -> ApiError {
    ApiError::new(404, "ConsentNotFound", format!("Consent with id: '{id}' was not found."))
}

pub(super) fn show_consent(call: &Call, id: &str) -> ApiResult {
    let state = call.shared.lock();
    let connection = consent_connection(call, &state)?;
    let consent = connection.consents.iter().find(|c| c.id.to_string() == id).ok_or_else(|| consent_not_found(id))?;
    Ok(Reply::data(consent.to_json(connection, call.now)))
}

pub(super) fn revoke_consent(call: &Call, id: &str) -> ApiResult {
    let mut state = call.shared.lock();
    let connection_id = consent_connection(call, &state)?.id;
    let connection =
        state.connections.get_mut(&connection_id).ok_or_else(|| connection_not_found(&connection_id.to_string()))?;
    let consent =
        connection.consents.iter_mut().find(|c| c.id.to_string() == id).ok_or_else(|| consent_not_found(id))?;
    if consent.revoked_at.is_some() {
        return Err(ApiError::new(409, "AispConsentAlreadyRevoked", "The consent is already revoked."));
    }
    consent.revoked_at = Some(call.now);
    let consent = consent.clone();
    let connection =
        state.connections.get(&connection_id).ok_or_else(|| connection_not_found(&connection_id.to_string()))?;
    Ok(Reply::data(consent.to_json(connection, call.now)))
}
