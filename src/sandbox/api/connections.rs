//! Connections: connect / reconnect / refresh widget sessions, background refresh, list, show,
//! remove, and the checks every connection-scoped request shares.

use super::*;

// ------------------------------------------------------------------ connect widget

pub(super) enum Widget {
    Reconnect,
    Refresh,
}

/// Validated `attempt` / `consent` options of a connect, reconnect or refresh request.
pub(super) struct WidgetOptions {
    return_to: String,
    custom_fields: Value,
    scopes: Vec<String>,
    from_date: Option<String>,
    include_sandboxes: bool,
    return_error_class: bool,
    return_connection_id: bool,
}

pub(super) fn widget_options(call: &Call) -> Result<WidgetOptions, ApiError> {
    let return_to = match call.body_field("/data/attempt/return_to").or(call.body_field("/data/return_to")) {
        None => call.shared.url(""),
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            if text.len() > 2040 {
                return Err(ApiError::new(406, "ReturnURLTooLong", "return_to is longer than 2040 characters."));
            }
            match url::Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => text.to_string(),
                _ => return Err(ApiError::new(406, "ReturnURLInvalid", "return_to is not a valid http(s) URL.")),
            }
        }
    };
    let custom_fields = match call.body_field("/data/attempt/custom_fields") {
        None => json!({}),
        Some(value) if value.is_object() => {
            if value.to_string().len() > 1024 {
                return Err(ApiError::new(406, "CustomFieldsSizeTooBig", "custom_fields is larger than 1 KB."));
            }
            value.clone()
        }
        Some(_) => return Err(ApiError::new(406, "CustomFieldsFormatInvalid", "custom_fields must be an object.")),
    };
    let scopes = match call.body_field("/data/consent/scopes") {
        None => vec!["accounts".to_string(), "transactions".to_string()],
        Some(Value::Array(items)) => {
            let scopes: Vec<String> = items.iter().filter_map(Value::as_str).map(str::to_string).collect();
            let valid = !scopes.is_empty()
                && scopes.len() == items.len()
                && scopes.iter().all(|s| matches!(s.as_str(), "accounts" | "transactions" | "holder_info"));
            if !valid {
                return Err(ApiError::new(406, "AispConsentScopesInvalid", "Consent scopes are invalid."));
            }
            scopes
        }
        Some(_) => return Err(ApiError::new(406, "AispConsentScopesInvalid", "Consent scopes must be a list.")),
    };
    let from_date = match call.body_field("/data/consent/from_date") {
        None => None,
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                ApiError::new(400, "InvalidAispConsentFromDate", "consent.from_date must be YYYY-MM-DD.")
            })?;
            if date > call.now.date_naive() || date < call.now.date_naive() - ChronoDuration::days(365) {
                return Err(ApiError::new(
                    406,
                    "InvalidAispConsentFromDate",
                    "consent.from_date must be within the last 365 days.",
                ));
            }
            Some(text.to_string())
        }
    };
    Ok(WidgetOptions {
        return_to,
        custom_fields,
        scopes,
        from_date,
        include_sandboxes: call
            .body_field("/data/provider/include_sandboxes")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        return_error_class: call.body_field("/data/return_error_class").and_then(Value::as_bool).unwrap_or(false),
        return_connection_id: call.body_field("/data/return_connection_id").and_then(Value::as_bool).unwrap_or(false),
    })
}

pub(super) fn new_session(
    call: &Call,
    state: &mut SandboxState,
    kind: SessionKind,
    options: WidgetOptions,
    customer_id: u64,
) -> Value {
    let token = hex::encode(rand::random::<[u8; 20]>());
    let expires_at = call.now + ChronoDuration::minutes(SESSION_LIFETIME_MINUTES);
    state.sessions.retain(|_, session| session.expires_at > call.now && !session.completed);
    state.sessions.insert(
        token.clone(),
        SessionRec {
            kind,
            requester: requester(&options.custom_fields, &call.shared.cfg.client_name),
            return_to: options.return_to,
            custom_fields: options.custom_fields,
            scopes: options.scopes,
            from_date: options.from_date,
            include_sandboxes: options.include_sandboxes,
            return_error_class: options.return_error_class,
            return_connection_id: options.return_connection_id,
            expires_at,
            completed: false,
        },
    );
    json!({
        "expires_at": state::timestamp(expires_at),
        "connect_url": call.shared.url(&format!("connect/{token}")),
        "customer_id": customer_id.to_string(),
    })
}

/// Longest company name the connect page shows.
const MAX_REQUESTER_CHARS: usize = 120;

/// Who the connect page says is asking: `attempt.custom_fields.company_name` when the request
/// names a company (a sandbox convention; Salt Edge shows the client's dashboard name), else
/// the client application's name.
pub(super) fn requester(custom_fields: &Value, client_name: &str) -> String {
    custom_fields
        .get("company_name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.chars().any(char::is_control))
        .map(|name| name.chars().take(MAX_REQUESTER_CHARS).collect())
        .unwrap_or_else(|| client_name.to_string())
}

pub(super) fn connect(call: &Call) -> ApiResult {
    let customer_id = id_value(call.body_field("/data/customer_id"))
        .ok_or_else(|| ApiError::new(400, "WrongRequestFormat", "`data.customer_id` is required."))?;
    for v5_key in ["provider_code", "include_fake_providers"] {
        if call.body_field(&format!("/data/{v5_key}")).is_some() {
            return Err(ApiError::new(
                400,
                "WrongRequestFormat",
                format!("`{v5_key}` is not a v6 parameter: use `provider.code` / `provider.include_sandboxes`."),
            ));
        }
    }
    let options = widget_options(call)?;
    let provider_code = call.body_field("/data/provider/code").and_then(Value::as_str).map(str::to_string);
    if let Some(code) = &provider_code {
        // Fake providers exist for this client only when it includes sandboxes.
        let visible = data::find_provider(code).filter(|p| options.include_sandboxes || !p.is_fake());
        if visible.is_none() {
            return Err(ApiError::new(404, "ProviderNotFound", format!("Provider with code '{code}' was not found.")));
        }
    }
    let mut state = call.shared.lock();
    if !state.customers.contains_key(&customer_id) {
        return Err(customer_not_found(&customer_id.to_string()));
    }
    let kind = SessionKind::Connect { customer_id, provider_code };
    Ok(Reply::data(new_session(call, &mut state, kind, options, customer_id)))
}

pub(super) fn connection_not_found(id: &str) -> ApiError {
    ApiError::new(404, "ConnectionNotFound", format!("Connection with id: '{id}' was not found."))
}

pub(super) fn connection_key(id: &str) -> Result<u64, ApiError> {
    id.parse::<u64>().map_err(|_| connection_not_found(id))
}

/// Refuses data access and refreshes once the consent has expired or was revoked.
pub(crate) fn check_consent(connection: &ConnectionRec, now: DateTime<Utc>) -> Result<(), ApiError> {
    match connection.current_consent().map(|consent| consent.state(now)) {
        Some(ConsentState::Active) => Ok(()),
        Some(ConsentState::Revoked) => Err(ApiError::new(
            406,
            "AispConsentRevoked",
            "The consent has been revoked. Reconnect to give a new consent.",
        )),
        Some(ConsentState::Expired) | None => {
            Err(ApiError::new(406, "AispConsentExpired", "The consent has expired. Reconnect to renew it."))
        }
    }
}

pub(super) fn check_refresh_allowed(connection: &ConnectionRec, now: DateTime<Utc>) -> Result<(), ApiError> {
    check_not_processing(connection)?;
    check_consent(connection, now)?;
    if connection.status != ConnectionStatus::Active {
        return Err(ApiError::new(
            406,
            "InvalidCredentials",
            "The connection is inactive; reconnect it with valid credentials.",
        ));
    }
    if let Some(at) = connection.next_refresh_possible_at.filter(|at| now < *at) {
        return Err(ApiError::new(
            406,
            "ConnectionCannotBeRefreshed",
            format!("Connection cannot be refreshed before {}.", state::timestamp(at)),
        ));
    }
    Ok(())
}

/// One attempt at a time per connection.
pub(crate) fn check_not_processing(connection: &ConnectionRec) -> Result<(), ApiError> {
    if connection.is_processing() {
        return Err(ApiError::new(
            409,
            "ConnectionAlreadyProcessing",
            format!("Connection with id: '{}' is already being processed.", connection.id),
        ));
    }
    Ok(())
}

pub(super) fn widget_session(call: &Call, id: &str, widget: Widget) -> ApiResult {
    let key = connection_key(id)?;
    let mut options = widget_options(call)?;
    let mut state = call.shared.lock();
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(id))?;
    match widget {
        Widget::Refresh => check_refresh_allowed(connection, call.now)?,
        Widget::Reconnect => check_not_processing(connection)?,
    }
    if call.body_field("/data/attempt/custom_fields").is_none() {
        options.custom_fields = connection.last_attempt.custom_fields.clone();
    }
    let customer_id = connection.customer_id;
    let kind = match widget {
        Widget::Reconnect => SessionKind::Reconnect { connection_id: key },
        Widget::Refresh => SessionKind::Refresh { connection_id: key },
    };
    Ok(Reply::data(new_session(call, &mut state, kind, options, customer_id)))
}

pub(super) fn background_refresh(call: &Call, id: &str) -> ApiResult {
    let key = connection_key(id)?;
    let mut state = call.shared.lock();
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(id))?;
    check_refresh_allowed(connection, call.now)?;
    let day_ago = call.now - ChronoDuration::hours(24);
    let recent = connection.background_refreshes.iter().filter(|at| **at > day_ago).count();
    if connection.provider.regulated && recent >= BACKGROUND_REFRESHES_PER_DAY {
        return Err(ApiError::new(
            406,
            "BackgroundFetchLimitExceeded",
            "Background fetch limit (4 times in a 24 hour period) was exceeded. This restriction applies only to PSD2 providers.",
        ));
    }
    let custom_fields = connection.last_attempt.custom_fields.clone();
    let attempt = state.start_attempt(call.now, custom_fields);
    let attempt_id = attempt.id;
    let connection = state.connections.get_mut(&key).ok_or_else(|| connection_not_found(id))?;
    connection.last_attempt = attempt;
    connection.next_refresh_possible_at = None;
    connection.background_refreshes.retain(|at| *at > day_ago);
    connection.background_refreshes.push(call.now);
    // The answer shows the attempt as it starts; the data comes when it finishes.
    let connection = connection.clone();
    let answer = state.connection_json(&connection);
    // Nobody is there to type an SMS code during a background refresh.
    let interaction = if connection.provider.interactive() { Interaction::Unattended } else { Interaction::None };
    let callbacks = attempts::launch(call.shared, &mut state, key, attempt_id, Work::Refresh, interaction, call.now);
    let mut reply = Reply::data(answer);
    reply.callbacks = callbacks;
    Ok(reply)
}

// ------------------------------------------------------------------ list, show, remove

pub(super) fn list_connections(call: &Call) -> ApiResult {
    let customer_id = parse_id("customer_id", call.required_query("customer_id")?)?;
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let state = call.shared.lock();
    if !state.customers.contains_key(&customer_id) {
        return Err(customer_not_found(&customer_id.to_string()));
    }
    let mut matching = state.connections.range(from_id..).filter(|(_, c)| c.customer_id == customer_id);
    let items: Vec<Value> = matching.by_ref().take(per_page).map(|(_, c)| state.connection_json(c)).collect();
    let next = matching.next().map(|(id, _)| call.next_page(*id));
    Ok(Reply::page(items, next))
}

pub(super) fn show_connection(call: &Call, id: &str) -> ApiResult {
    let key = connection_key(id)?;
    let state = call.shared.lock();
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(id))?;
    check_owner(call, &state, connection)?;
    Ok(Reply::data(state.connection_json(connection)))
}

pub(super) fn remove_connection(call: &Call, id: &str) -> ApiResult {
    let key = connection_key(id)?;
    let mut state = call.shared.lock();
    let connection = state.connections.remove(&key).ok_or_else(|| connection_not_found(id))?;
    let mut reply = Reply::data(json!({ "id": id, "removed": true }));
    reply.callbacks =
        vec![Callback::new("destroy", Some(key), connection.customer_id, &connection.last_attempt.custom_fields)];
    Ok(reply)
}

pub(super) fn consent_connection<'a>(call: &Call, state: &'a SandboxState) -> Result<&'a ConnectionRec, ApiError> {
    let id = call
        .query("connection_id")
        .map(str::to_string)
        .or_else(|| id_value(call.body_field("/data/connection_id")).map(|id| id.to_string()))
        .ok_or_else(|| ApiError::new(400, "WrongRequestFormat", "`connection_id` is required."))?;
    let key = connection_key(&id)?;
    let connection = state.connections.get(&key).ok_or_else(|| connection_not_found(&id))?;
    check_owner(call, state, connection)?;
    Ok(connection)
}

/// A connection belongs to exactly one customer: a request naming another customer
/// (`customer_id` in the query) does not see it, and an unknown customer is `CustomerNotFound`.
pub(super) fn check_owner(call: &Call, state: &SandboxState, connection: &ConnectionRec) -> Result<(), ApiError> {
    let Some(text) = call.query("customer_id") else {
        return Ok(());
    };
    let customer_id = text.parse::<u64>().ok().filter(|id| state.customers.contains_key(id));
    match customer_id {
        None => Err(customer_not_found(text)),
        Some(id) if id != connection.customer_id => Err(connection_not_found(&connection.id.to_string())),
        Some(_) => Ok(()),
    }
}
