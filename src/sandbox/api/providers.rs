//! `GET /countries`, `GET /providers`, `GET /providers/{code}`.

use super::*;

pub(super) fn countries() -> ApiResult {
    let mut codes: Vec<&str> = data::PROVIDERS.iter().map(|p| p.country_code).collect();
    codes.sort_unstable();
    codes.dedup();
    let names = |code: &str| match code {
        "XF" => "Fake Country",
        "DE" => "Germany",
        "FR" => "France",
        "ES" => "Spain",
        "NL" => "Netherlands",
        "GB" => "United Kingdom",
        "IT" => "Italy",
        _ => "",
    };
    let items: Vec<Value> =
        codes.into_iter().map(|code| json!({ "code": code, "name": names(code), "refresh_start_time": 2 })).collect();
    Ok(Reply::data(json!(items)))
}

pub(super) fn refresh_timeout_minutes(call: &Call) -> u64 {
    call.shared.cfg.refresh_interval.as_secs().div_ceil(60)
}

pub(super) fn list_providers(call: &Call) -> ApiResult {
    // A Test-status client sees the fake providers only when it asks for them (v6
    // `include_sandboxes`; the v5 `include_fake_providers` means nothing here).
    let include_fake = call.flag("include_sandboxes")?;
    let country = call.query("country_code").map(str::to_ascii_uppercase);
    let from_id = call.start_id()?;
    let per_page = call.per_page()?;
    let mut matching = data::PROVIDERS.iter().filter(|p| {
        (include_fake || !p.is_fake()) && country.as_deref().is_none_or(|c| p.country_code == c) && p.id >= from_id
    });
    let items: Vec<Value> = matching
        .by_ref()
        .take(per_page)
        .map(|p| p.to_json(refresh_timeout_minutes(call), call.shared.cfg.consent_days))
        .collect();
    let next = matching.next().map(|p| call.next_page(p.id));
    Ok(Reply::page(items, next))
}

pub(super) fn show_provider(call: &Call, code: &str) -> ApiResult {
    let provider = data::find_provider(code)
        .ok_or_else(|| ApiError::new(404, "ProviderNotFound", format!("Provider with code '{code}' was not found.")))?;
    Ok(Reply::data(provider.to_json(refresh_timeout_minutes(call), call.shared.cfg.consent_days)))
}
