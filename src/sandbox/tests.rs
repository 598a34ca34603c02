//! Sandbox tests over real HTTP on 127.0.0.1: the hosted connect page, callbacks, volume.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::connect_page::{CONSENT_REQUIRED_MESSAGE, DUPLICATE_MESSAGE};
use super::test_support::{
    admin, connect_session, link, small_config, start, wait_for_attempt, CallbackSink, RETURN_TO,
};
use super::{submit_form, SandboxConfig};
use crate::saltedge::{verify_callback, CallbackPayload, ErrorKind};

/// The text of the page's alert (what the bank customer reads about an error).
fn alert_text(page: &str) -> String {
    let start = page.find("role=\"alert\">").expect("an alert") + "role=\"alert\">".len();
    let end = start + page[start..].find("</p>").expect("alert end");
    page[start..end].to_string()
}

async fn connect_url(client: &crate::saltedge::Client, identifier: &str, provider: Option<&str>) -> (String, String) {
    let customer = client.get_or_create_customer(identifier).await.unwrap();
    let session = connect_session(client, &customer.customer_id, provider, RETURN_TO).await;
    (customer.customer_id, session.connect_url)
}

#[tokio::test]
async fn connect_page_renders_form_with_consent_checkbox() {
    let (sandbox, client) = start(small_config()).await;
    let (_, url) = connect_url(&client, "page", Some("fakebank_interactive_xf")).await;
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = response.text().await.unwrap();
    for needle in [
        "Fake Bank with SMS",
        "name=\"login\"",
        "name=\"password\"",
        "name=\"sms_code\"",
        "type=\"checkbox\" name=\"consent\"",
        "123456",
    ] {
        assert!(page.contains(needle), "page lacks {needle}");
    }
    let (_, plain) = connect_url(&client, "page", Some("fakebank_simple_xf")).await;
    let page = reqwest::get(&plain).await.unwrap().text().await.unwrap();
    assert!(!page.contains("name=\"sms_code\""));
    let missing = reqwest::get(sandbox.root_url.join("connect/nope").unwrap()).await.unwrap();
    assert_eq!(missing.status(), 404);
    sandbox.stop().await;
}

#[tokio::test]
async fn consent_must_be_ticked_and_nothing_is_created_without_it() {
    let sink = CallbackSink::start().await;
    let (sandbox, client) =
        start(SandboxConfig { callback_base_url: Some(sink.base_url.clone()), ..small_config() }).await;
    let (customer_id, url) = connect_url(&client, "no-consent", Some("fakebank_simple_xf")).await;
    let result = submit_form(&url, None, "username", "secret", None, false).await.unwrap();
    assert_eq!(result.status, 422);
    assert!(result.body.contains(CONSENT_REQUIRED_MESSAGE));
    assert!(result.body.contains("You must give your consent"));
    assert!(client.list_connections(&customer_id).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.kinds().is_empty(), "no callback without consent");
    // The same link still works once the box is ticked.
    let result = submit_form(&url, None, "username", "secret", None, true).await.unwrap();
    assert_eq!(result.status, 302);
    // …and only once.
    let again = submit_form(&url, None, "username", "secret", None, true).await.unwrap();
    assert_eq!(again.status, 410);
    sandbox.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn bad_password_fails_with_callback_and_creates_nothing() {
    let sink = CallbackSink::start().await;
    let (sandbox, client) =
        start(SandboxConfig { callback_base_url: Some(sink.base_url.clone()), ..small_config() }).await;
    let (customer_id, url) = connect_url(&client, "bad-password", Some("fakebank_simple_xf")).await;
    let result = submit_form(&url, None, "username", "wrong", None, true).await.unwrap();
    assert_eq!(result.status, 422);
    let alert = alert_text(&result.body);
    assert!(alert.contains("not correct") && !alert.contains("InvalidCredentials"), "{alert}");
    assert!(result.body.contains("error_class=InvalidCredentials"), "offers a way back");
    assert!(client.list_connections(&customer_id).await.unwrap().is_empty());
    let received = sink.wait_for(1).await;
    assert_eq!(sink.kinds(), vec!["fail"]);
    let payload: CallbackPayload = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(payload.data.error_class.as_deref(), Some("InvalidCredentials"));
    assert_eq!(payload.data.customer_id.as_deref(), Some(customer_id.as_str()));
    assert!(payload.data.connection_id.is_none());
    sandbox.stop().await;
    sink.stop().await;
}

/// Raw `GET /api/v6/{path}` with the sandbox's credentials: (status, JSON body).
async fn api_get(sandbox: &super::SandboxHandle, path: &str) -> (u16, Value) {
    api_call(sandbox, reqwest::Method::GET, path, None).await
}

async fn api_call(
    sandbox: &super::SandboxHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, sandbox.base_url.join(path).unwrap())
        .header("App-id", &sandbox.app_id)
        .header("Secret", &sandbox.secret);
    if let Some(body) = body {
        request = request.header("Content-Type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn stage_names(connection: &Value) -> Vec<String> {
    connection["last_attempt"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| stage["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn connect_redirects_before_the_attempt_finishes_then_data_and_signed_callbacks_follow() {
    let sink = CallbackSink::start().await;
    let (sandbox, client) = start(SandboxConfig {
        callback_base_url: Some(sink.base_url.clone()),
        attempt_delay: Duration::from_millis(1200),
        ..small_config()
    })
    .await;
    let customer = client.create_customer("callbacks").await.unwrap();
    let mut options = crate::saltedge::ConnectOptions::new(RETURN_TO);
    options.provider_code = Some("fakebank_simple_xf".into());
    options.custom_fields = Some(json!({ "odoo_link_id": "42" }));
    options.include_sandboxes = true;
    let session = client.connect_with(&customer.customer_id, &options).await.unwrap();
    let submitted = Instant::now();
    let result = submit_form(&session.connect_url, None, "username", "secret", None, true).await.unwrap();
    assert_eq!(result.status, 302);
    assert!(submitted.elapsed() < Duration::from_millis(1000), "the browser goes back before the fetch ends");
    let location = result.location.clone().unwrap();
    assert!(location.starts_with("https://odoo.example/saltedge/return?state=abc&connection_id="));
    let connection_id = result.connection_id().unwrap();

    // The connection exists at once, its attempt is running and it has no data yet.
    let (status, running) = api_get(&sandbox, &format!("connections/{connection_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(running["data"]["last_attempt"]["finished"], false);
    assert_eq!(running["data"]["last_attempt"]["success_at"], Value::Null);
    assert_eq!(running["data"]["next_refresh_possible_at"], Value::Null);
    assert_eq!(stage_names(&running["data"])[0], "start");
    assert!(client.list_accounts(&connection_id).await.unwrap().is_empty());
    assert!(sink.kinds().iter().all(|kind| kind == "notify"), "no success before the end: {:?}", sink.kinds());
    // A second attempt cannot start while this one runs.
    let (status, busy) = api_call(
        &sandbox,
        reqwest::Method::POST,
        &format!("connections/{connection_id}/background_refresh"),
        Some(json!({ "data": { "attempt": { "fetch_scopes": ["accounts", "transactions"] } } })),
    )
    .await;
    assert_eq!((status, busy["error"]["class"].as_str()), (409, Some("ConnectionAlreadyProcessing")));

    let finished = wait_for_attempt(&client, &connection_id).await;
    assert!(finished.last_success_at().is_some());
    assert!(finished.next_refresh_possible_at.is_some());
    let (_, done) = api_get(&sandbox, &format!("connections/{connection_id}")).await;
    assert_eq!(stage_names(&done["data"]), ["start", "connect", "fetch_accounts", "fetch_recent", "finish"]);
    assert_eq!(done["data"]["last_attempt"]["last_stage"]["name"], "finish");
    assert_eq!(client.list_accounts(&connection_id).await.unwrap().len(), 2);

    // notify per stage, then success; every one signed, fresh, with the custom fields.
    let received = sink.wait_for(4).await;
    assert_eq!(sink.kinds(), ["notify", "notify", "notify", "success"]);
    let key = &sandbox.public_key_pem;
    let mut stages = Vec::new();
    for callback in &received {
        let signature = callback.signature.as_deref().unwrap();
        assert!(verify_callback(key, &callback.url, &callback.body, signature));
        let payload: CallbackPayload = serde_json::from_slice(&callback.body).unwrap();
        assert_eq!(payload.data.connection_id.as_deref(), Some(connection_id.as_str()));
        assert_eq!(payload.data.custom_fields["odoo_link_id"], "42");
        assert_eq!(payload.meta.version.as_deref(), Some("6"));
        let body: Value = serde_json::from_slice(&callback.body).unwrap();
        let sent = chrono::DateTime::parse_from_rfc3339(body["meta"]["time"].as_str().unwrap()).unwrap();
        assert!((chrono::Utc::now() - sent.with_timezone(&chrono::Utc)).num_seconds() < 30, "meta.time is fresh");
        stages.push(body["data"]["stage"].as_str().unwrap().to_string());
    }
    assert_eq!(stages, ["connect", "fetch_accounts", "fetch_recent", "finish"]);
    let success = &received[3];
    let signature = success.signature.as_deref().unwrap();
    // A modified body, another URL, a missing signature or another key are all rejected.
    let mut forged = success.body.clone();
    let text = String::from_utf8(forged.clone()).unwrap().replace(&connection_id, "1");
    forged = text.into_bytes();
    assert!(!verify_callback(key, &success.url, &forged, signature));
    assert!(!verify_callback(key, "http://127.0.0.1:1/saltedge/callbacks/success", &success.body, signature));
    assert!(!verify_callback(key, &success.url, &success.body, ""));
    let other_key = include_str!("../../tests/fixtures/saltedge/keys/client_public.pem");
    assert!(!verify_callback(other_key, &success.url, &success.body, signature));

    // Removing the connection sends a destroy callback.
    client.remove_connection(&connection_id).await.unwrap();
    let received = sink.wait_for(5).await;
    assert_eq!(received[4].kind, "destroy");
    sandbox.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn background_refresh_answers_at_once_and_brings_its_data_when_it_finishes() {
    let sink = CallbackSink::start().await;
    let (sandbox, client) = start(SandboxConfig {
        callback_base_url: Some(sink.base_url.clone()),
        attempt_delay: Duration::from_millis(1200),
        accounts_per_connection: 1,
        ..small_config()
    })
    .await;
    let (_, connection_id) = link(&client, "refresh", "fakebank_simple_xf", "username").await;
    let account = client.list_accounts(&connection_id).await.unwrap().remove(0);
    let page = client.transactions_page(&connection_id, &account.id, None, false, 1000).await.unwrap();
    let posted_before = page.data.len();
    let pending = client.transactions_page(&connection_id, &account.id, None, true, 1000).await.unwrap().data;
    assert_eq!(pending.len(), 2);
    let callbacks_before = sink.wait_for(4).await.len();

    let (status, answer) = api_call(
        &sandbox,
        reqwest::Method::POST,
        &format!("connections/{connection_id}/background_refresh"),
        Some(json!({ "data": { "attempt": { "fetch_scopes": ["accounts", "transactions"] } } })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["last_attempt"]["finished"], false);
    assert_eq!(answer["data"]["next_refresh_possible_at"], Value::Null);
    // Nothing new yet: the pending rows are still pending.
    let still = client.transactions_page(&connection_id, &account.id, None, true, 1000).await.unwrap().data;
    assert_eq!(still, pending);
    let page = client.transactions_page(&connection_id, &account.id, None, false, 1000).await.unwrap();
    assert_eq!(page.data.len(), posted_before);

    wait_for_attempt(&client, &connection_id).await;
    let after = client.transactions_page(&connection_id, &account.id, None, false, 1000).await.unwrap().data;
    assert_eq!(after.len(), posted_before + 2 + 4, "the two pending rows are posted, 4 new rows (+1 duplicated)");
    for (was_pending, settled) in pending.iter().zip(&after[posted_before..]) {
        assert_eq!(was_pending.amount, settled.amount);
        assert_ne!(was_pending.id, settled.id);
        assert_eq!(settled.status, "posted");
    }
    let kinds: Vec<String> =
        sink.wait_for(callbacks_before + 4).await[callbacks_before..].iter().map(|r| r.kind.clone()).collect();
    assert_eq!(kinds, ["notify", "notify", "notify", "success"]);
    sandbox.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn interactive_error_and_duplicate_providers() {
    let (sandbox, client) = start(small_config()).await;
    // Interactive: the SMS code is required.
    let (_, url) = connect_url(&client, "providers", Some("fakebank_interactive_xf")).await;
    let wrong = submit_form(&url, None, "username", "secret", Some("000000"), true).await.unwrap();
    assert_eq!(wrong.status, 422);
    assert!(alert_text(&wrong.body).contains("SMS code"));
    assert!(wrong.body.contains("error_class=InvalidInteractiveCredentials"));
    let right = submit_form(&url, None, "username", "secret", Some("123456"), true).await.unwrap();
    assert_eq!(right.status, 302);

    // The error provider fails with the class typed as password.
    let (_, url) = connect_url(&client, "providers", Some("fakebank_with_error_xf")).await;
    let failed = submit_form(&url, None, "username", "ProviderUnavailable", None, true).await.unwrap();
    assert_eq!(failed.status, 422);
    assert!(failed.body.contains("error_class=ProviderUnavailable"));
    assert!(alert_text(&failed.body).contains("could not be reached"));
    let failed = submit_form(&url, None, "username", "secret", None, true).await.unwrap();
    assert!(failed.body.contains("error_class=InvalidCredentials"));
    // A wrong password may be fixed on the form: the page stays, with a way back.
    assert!(!failed.body.contains("http-equiv=\"refresh\""));
    assert!(failed.body.contains("id=\"return\""));

    // The same login at the same provider for the same customer is a duplicate.
    let (customer_id, first) = link(&client, "dup", "fakebank_simple_xf", "same-login").await;
    let (_, url) = connect_url(&client, "dup", Some("fakebank_simple_xf")).await;
    let duplicate = submit_form(&url, None, "same-login", "secret", None, true).await.unwrap();
    assert_eq!(duplicate.status, 422);
    assert_eq!(alert_text(&duplicate.body), DUPLICATE_MESSAGE);
    assert!(duplicate.body.contains("error_class=ConnectionDuplicated"));
    // A duplicate ends the attempt: the browser goes back to the application by itself, with the class.
    let refresh = duplicate.body.split("http-equiv=\"refresh\" content=\"").nth(1).expect("an automatic return");
    let refresh = refresh.split('"').next().unwrap();
    assert!(refresh.starts_with("3;url=") && refresh.contains("error_class=ConnectionDuplicated"), "{refresh}");
    assert!(!duplicate.body.contains("name=\"consent\""), "no form to submit again");
    let connections = client.list_connections(&customer_id).await.unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].id, first);

    // Without a preselected provider the page offers a choice.
    let (_, url) = connect_url(&client, "choose", None).await;
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("<select name=\"provider_code\""));
    let chosen = submit_form(&url, Some("musterbank_de"), "u", "secret", None, true).await.unwrap();
    assert_eq!(chosen.status, 302, "{}", chosen.body);
    sandbox.stop().await;
}

#[tokio::test]
async fn failed_reconnect_deactivates_and_good_one_revives() {
    let (sandbox, client) = start(small_config()).await;
    let (_, connection_id) = link(&client, "reconnect", "fakebank_simple_xf", "carol").await;
    let session = client.reconnect(&connection_id, RETURN_TO).await.unwrap();
    let page = reqwest::get(&session.connect_url).await.unwrap().text().await.unwrap();
    assert!(page.contains("Reconnect Fake Bank Simple") && page.contains("value=\"carol\""));
    let failed = submit_form(&session.connect_url, None, "carol", "bad", None, true).await.unwrap();
    assert_eq!(failed.status, 422);
    let connection = client.get_connection(&connection_id).await.unwrap();
    assert!(connection.needs_user());
    assert_eq!(connection.fail_error_class(), Some("InvalidCredentials"));
    let err = client.background_refresh(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NeedsUser);

    let pending_before = client.list_accounts(&connection_id).await.unwrap()[0].extra.transactions_count.clone();
    let ok = submit_form(&session.connect_url, None, "carol", "secret", None, true).await.unwrap();
    assert_eq!(ok.status, 302);
    // The reconnect's attempt runs after the redirect: nothing fetched yet.
    let running = client.get_connection(&connection_id).await.unwrap();
    assert_eq!(running.last_attempt.as_ref().unwrap().finished, Some(false));
    assert_eq!(client.list_accounts(&connection_id).await.unwrap()[0].extra.transactions_count, pending_before);
    let connection = wait_for_attempt(&client, &connection_id).await;
    assert!(connection.is_active() && connection.fail_error_class().is_none());
    assert_ne!(client.list_accounts(&connection_id).await.unwrap()[0].extra.transactions_count, pending_before);

    // Widget refresh of an interactive connection asks only for the SMS code.
    let (_, sms) = link(&client, "reconnect", "fakebank_interactive_xf", "dave").await;
    let session = client.refresh(&sms, RETURN_TO).await.unwrap();
    let page = reqwest::get(&session.connect_url).await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"sms_code\"") && !page.contains("name=\"password\""));
    let ok = submit_form(&session.connect_url, None, "", "", Some("123456"), true).await.unwrap();
    assert_eq!(ok.status, 302, "{}", ok.body);
    sandbox.stop().await;
}

#[tokio::test]
async fn a_million_transactions_are_generated_not_stored() {
    let (sandbox, client) =
        start(SandboxConfig { transactions_per_account: 1_000_000, accounts_per_connection: 1, ..small_config() })
            .await;
    let (_, connection_id) = link(&client, "bench", "fakebank_simple_xf", "username").await;
    let account = client.list_accounts(&connection_id).await.unwrap().remove(0);
    assert_eq!(account.extra.transactions_count.unwrap().posted, 1_000_000);
    let first = client.transactions_page(&connection_id, &account.id, None, false, 1000).await.unwrap();
    let first_id: u64 = first.data[0].id.parse().unwrap();
    // Jump straight to the last page through from_id.
    let started = Instant::now();
    let tail_from = (first_id + 999_500).to_string();
    let tail = client.transactions_page(&connection_id, &account.id, Some(&tail_from), false, 1000).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(tail.data.len(), 500);
    assert!(tail.next_id.is_none());
    assert_eq!(tail.data.last().unwrap().id, (first_id + 999_999).to_string());
    // Same request, same data.
    let again = client.transactions_page(&connection_id, &account.id, Some(&tail_from), false, 1000).await.unwrap();
    assert_eq!(tail, again);
    sandbox.stop().await;
}

#[tokio::test]
async fn api_errors_use_salt_edge_envelopes() {
    let (sandbox, client) = start(small_config()).await;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<&str>| {
        let mut request = http
            .request(method, sandbox.base_url.join(path).unwrap())
            .header("App-id", &sandbox.app_id)
            .header("Secret", &sandbox.secret);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        request.send()
    };
    let response = call(reqwest::Method::GET, "no/such/route", None).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["class"], "RouteNotFound");
    let response = call(reqwest::Method::POST, "customers", Some("{not json")).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["class"], "JsonParseError");
    let response = call(reqwest::Method::GET, "transactions", None).await.unwrap();
    assert_eq!(response.status(), 400);
    let response = call(reqwest::Method::GET, "connections/123", None).await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["class"], "ConnectionNotFound");
    let response = http.get(sandbox.base_url.join("providers").unwrap()).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["class"], "AppIdNotProvided");

    // Unknown customer and bad return_to are refused at connect time.
    let err = client.connect("42", None, RETURN_TO, &["accounts"], None).await.unwrap_err();
    assert_eq!(err.class(), Some("CustomerNotFound"));
    let customer = client.create_customer("errors").await.unwrap();
    let err = client.connect(&customer.customer_id, None, "not a url", &["accounts"], None).await.unwrap_err();
    assert_eq!(err.class(), Some("ReturnURLInvalid"));
    let err =
        client.connect(&customer.customer_id, Some("no_such_bank"), RETURN_TO, &["accounts"], None).await.unwrap_err();
    // An unknown provider is a refused request, not a connection that is gone.
    assert_eq!(err.kind(), ErrorKind::Rejected);

    // Admin hooks: add an account, settle pending rows.
    let (_, connection_id) = link(&client, "errors", "fakebank_simple_xf", "erin").await;
    let added = admin(
        &sandbox,
        &format!("connections/{connection_id}/accounts"),
        json!({ "name": "Extra", "currency_code": "usd", "transactions": 7 }),
    )
    .await;
    assert_eq!(added["data"]["currency_code"], "USD");
    let accounts = client.list_accounts(&connection_id).await.unwrap();
    assert_eq!(accounts.len(), 3);
    let settled = admin(&sandbox, &format!("connections/{connection_id}/post_pending"), json!({ "count": 1 })).await;
    assert_eq!(settled["settled"], 3);
    sandbox.stop().await;
}

async fn background_refresh_raw(sandbox: &super::SandboxHandle, connection_id: &str) -> (u16, Value) {
    api_call(
        sandbox,
        reqwest::Method::POST,
        &format!("connections/{connection_id}/background_refresh"),
        Some(json!({ "data": { "attempt": { "fetch_scopes": ["accounts", "transactions"] } } })),
    )
    .await
}

#[tokio::test]
async fn refreshes_respect_next_refresh_possible_at_and_the_psd2_daily_limit() {
    let (sandbox, client) = start(SandboxConfig { refresh_interval: Duration::from_secs(300), ..small_config() }).await;
    let (_, connection_id) = link(&client, "limits", "fakebank_simple_xf", "username").await;
    let connection = client.get_connection(&connection_id).await.unwrap();
    let next = connection.next_refresh_possible_at_utc().unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::seconds(290), "{next}");

    // Too early: 406 ConnectionCannotBeRefreshed in Salt Edge's envelope, for both refreshes.
    let (status, body) = background_refresh_raw(&sandbox, &connection_id).await;
    assert_eq!(status, 406);
    assert_eq!(body["error"]["class"], "ConnectionCannotBeRefreshed");
    assert!(body["error"]["message"].as_str().unwrap().contains(&state_timestamp(next)));
    assert!(body["error"]["documentation_url"].is_string());
    assert!(body["request"].is_object());
    let (status, body) = api_call(
        &sandbox,
        reqwest::Method::POST,
        &format!("connections/{connection_id}/refresh"),
        Some(json!({ "data": { "attempt": { "return_to": RETURN_TO } } })),
    )
    .await;
    assert_eq!((status, body["error"]["class"].as_str()), (406, Some("ConnectionCannotBeRefreshed")));

    // Once the time has come, it works.
    admin(&sandbox, &format!("connections/{connection_id}/next_refresh"), json!({ "in_secs": -1 })).await;
    let (status, _) = background_refresh_raw(&sandbox, &connection_id).await;
    assert_eq!(status, 200);
    sandbox.stop().await;

    // A regulated (PSD2) provider allows 4 background refreshes per 24 hours, then 406
    // BackgroundFetchLimitExceeded; an unregulated fake bank has no such limit.
    let (sandbox, client) = start(small_config()).await;
    let (_, regulated) = link(&client, "psd2", "fake_client_xf", "username").await;
    let (_, unregulated) = link(&client, "psd2", "fakebank_simple_xf", "username").await;
    for round in 0..4 {
        for id in [&regulated, &unregulated] {
            let (status, body) = background_refresh_raw(&sandbox, id).await;
            assert_eq!(status, 200, "round {round}: {body}");
            wait_for_attempt(&client, id).await;
        }
    }
    let (status, body) = background_refresh_raw(&sandbox, &regulated).await;
    assert_eq!((status, body["error"]["class"].as_str()), (406, Some("BackgroundFetchLimitExceeded")));
    let (status, _) = background_refresh_raw(&sandbox, &unregulated).await;
    assert_eq!(status, 200);
    sandbox.stop().await;
}

fn state_timestamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn a_connection_belongs_to_one_customer_and_errors_use_salt_edge_classes() {
    let (sandbox, client) = start(small_config()).await;
    let (alice, connection_id) = link(&client, "company-a", "fakebank_simple_xf", "username").await;
    let bob = client.create_customer("company-b").await.unwrap().customer_id;

    // The identifier is unique per application.
    let (status, body) =
        api_call(&sandbox, reqwest::Method::POST, "customers", Some(json!({ "data": { "identifier": "company-a" } })))
            .await;
    assert_eq!((status, body["error"]["class"].as_str()), (409, Some("DuplicatedCustomer")));

    // Another customer's id in the query: the connection does not exist for them.
    let account_id = client.list_accounts(&connection_id).await.unwrap().remove(0).id;
    for path in [
        format!("connections/{connection_id}?customer_id={bob}"),
        format!("accounts?connection_id={connection_id}&customer_id={bob}"),
        format!("transactions?connection_id={connection_id}&account_id={account_id}&customer_id={bob}"),
        format!("consents?connection_id={connection_id}&customer_id={bob}"),
    ] {
        let (status, body) = api_get(&sandbox, &path).await;
        assert_eq!((status, body["error"]["class"].as_str()), (404, Some("ConnectionNotFound")), "{path}");
        let owner = path.replace(&bob, &alice);
        let (status, _) = api_get(&sandbox, &owner).await;
        assert_eq!(status, 200, "{owner}");
        let unknown = path.replace(&bob, "1");
        let (status, body) = api_get(&sandbox, &unknown).await;
        assert_eq!((status, body["error"]["class"].as_str()), (404, Some("CustomerNotFound")), "{unknown}");
    }
    let (_, listed) = api_get(&sandbox, &format!("connections?customer_id={bob}")).await;
    assert_eq!(listed["data"], json!([]));

    // Exact not-found classes per resource, and RouteNotFound for what does not exist at all.
    let (status, body) = api_get(&sandbox, &format!("consents/42?connection_id={connection_id}")).await;
    assert_eq!((status, body["error"]["class"].as_str()), (404, Some("ConsentNotFound")));
    let (status, body) = api_get(&sandbox, "customers/42").await;
    assert_eq!((status, body["error"]["class"].as_str()), (404, Some("CustomerNotFound")));
    let (status, body) = api_get(&sandbox, "connections/42").await;
    assert_eq!((status, body["error"]["class"].as_str()), (404, Some("ConnectionNotFound")));
    for path in ["connection/42", "connections/42/nope", "saltedge/callbacks"] {
        let (status, body) = api_get(&sandbox, path).await;
        assert_eq!((status, body["error"]["class"].as_str()), (404, Some("RouteNotFound")), "{path}");
    }
    let (status, body) = api_call(&sandbox, reqwest::Method::DELETE, "accounts", None).await;
    assert_eq!((status, body["error"]["class"].as_str()), (404, Some("RouteNotFound")));
    // v5 routes do not exist on a v6 host.
    let response = reqwest::Client::new()
        .post(sandbox.root_url.join("api/v5/connect_sessions/create").unwrap())
        .header("App-id", &sandbox.app_id)
        .header("Secret", &sandbox.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["class"], "RouteNotFound");
    sandbox.stop().await;
}

/// `GET /transactions?connection_id=…&{query}`: the rows (asserting a 200).
async fn list_rows(sandbox: &super::SandboxHandle, connection_id: &str, query: &str) -> Vec<Value> {
    let (status, body) = api_get(sandbox, &format!("transactions?connection_id={connection_id}&{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn transactions_carry_status_and_duplicated_as_v6_lists_them() {
    let (sandbox, client) = start(SandboxConfig { accounts_per_connection: 1, ..small_config() }).await;
    let (_, connection_id) = link(&client, "rows", "fakebank_simple_xf", "username").await;
    let account = client.list_accounts(&connection_id).await.unwrap().remove(0);
    let posted = list_rows(&sandbox, &connection_id, "").await;
    assert_eq!(posted.len(), 25);
    assert!(posted.iter().all(|t| t["status"] == "posted" && t["duplicated"] == false));
    let pending = list_rows(&sandbox, &connection_id, "pending=true").await;
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|t| t["status"] == "pending" && t["duplicated"] == false));
    assert!(list_rows(&sandbox, &connection_id, "duplicated=true").await.is_empty());
    assert_eq!(list_rows(&sandbox, &connection_id, "pending=false&duplicated=false").await, posted);
    let (status, body) = api_get(&sandbox, &format!("transactions?connection_id={connection_id}&pending=yes")).await;
    assert_eq!((status, body["error"]["class"].as_str()), (400, Some("WrongRequestFormat")));

    // A refresh settles the pending rows (new ids, same content, posted) and brings 5 new rows
    // made today, the last of which repeats the first and is flagged duplicated.
    let (status, _) = background_refresh_raw(&sandbox, &connection_id).await;
    assert_eq!(status, 200);
    wait_for_attempt(&client, &connection_id).await;
    let after = list_rows(&sandbox, &connection_id, "").await;
    assert_eq!(after[..25], posted[..]);
    assert_eq!(after.len(), 25 + 2 + 4);
    for (was, settled) in pending.iter().zip(&after[25..27]) {
        assert_eq!(
            (was["amount"].clone(), was["description"].clone()),
            (settled["amount"].clone(), settled["description"].clone())
        );
        assert_ne!(was["id"], settled["id"]);
        assert_eq!(settled["status"], "posted");
    }
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let fresh = &after[27..];
    assert!(fresh.iter().all(|t| t["made_on"] == today.as_str() && t["duplicated"] == false));
    let duplicated = list_rows(&sandbox, &connection_id, "duplicated=true").await;
    assert_eq!(duplicated.len(), 1);
    let copy = &duplicated[0];
    assert_eq!(copy["duplicated"], true);
    assert_eq!(copy["status"], "posted");
    for field in ["amount", "description", "made_on", "currency_code"] {
        assert_eq!(copy[field], fresh[0][field], "{field}");
    }
    assert_eq!(copy["extra"]["id"], fresh[0]["extra"]["id"]);
    assert!(after.iter().all(|t| t["id"] != copy["id"]), "a duplicated row is not listed as new");
    let new_pending = list_rows(&sandbox, &connection_id, "pending=true").await;
    assert_eq!(new_pending.len(), 2);
    assert!(new_pending.iter().all(|t| !pending.contains(t)));
    // The counts of the account agree with the lists.
    let account = client.list_accounts(&connection_id).await.unwrap().into_iter().find(|a| a.id == account.id).unwrap();
    let counts = account.extra.transactions_count.unwrap();
    assert_eq!((counts.posted, counts.pending), (31, 2));
    sandbox.stop().await;
}

#[tokio::test]
async fn fake_providers_only_with_include_sandboxes_and_under_v6_field_names() {
    let (sandbox, client) = start(small_config()).await;
    let codes = |body: &Value| -> Vec<String> {
        body["data"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect()
    };
    // A Test-status client: fake providers (country XF) are listed only when asked for (v6 name).
    let (_, plain) = api_get(&sandbox, "providers").await;
    assert!(!codes(&plain).is_empty() && codes(&plain).iter().all(|code| !code.ends_with("_xf")));
    let (_, v5) = api_get(&sandbox, "providers?include_fake_providers=true").await;
    assert_eq!(codes(&v5), codes(&plain), "the v5 switch means nothing on v6");
    let (_, with) = api_get(&sandbox, "providers?include_sandboxes=true&country_code=XF").await;
    assert!(codes(&with).contains(&"fakebank_interactive_xf".to_string()));
    let interactive = with["data"].as_array().unwrap().iter().find(|p| p["code"] == "fakebank_interactive_xf").unwrap();
    assert_eq!(interactive["interactive_for_connections"], true);
    assert!(interactive["instruction_for_connections"].as_str().unwrap().contains("123456"));
    assert_eq!(interactive["interactive_fields"][0]["name"], "sms_code");
    for v5_name in ["interactive", "instruction", "home_url", "login_url"] {
        assert!(interactive.get(v5_name).is_none(), "{v5_name} is a v5 field");
    }
    // The client reads the v6 names.
    let fake = client.list_providers(Some("XF"), true).await.unwrap();
    assert!(fake.iter().find(|p| p.code == "fakebank_interactive_xf").unwrap().is_interactive());

    // connect honours provider.include_sandboxes; the flat v5 keys are refused.
    let customer = client.create_customer("providers").await.unwrap().customer_id;
    let body = |provider: Value| {
        json!({ "data": {
            "customer_id": customer,
            "consent": { "scopes": ["accounts", "transactions"] },
            "attempt": { "return_to": RETURN_TO },
            "provider": provider,
        }})
    };
    let connect = |body: Value| api_call(&sandbox, reqwest::Method::POST, "connections/connect", Some(body));
    let (status, refused) = connect(body(json!({ "code": "fakebank_simple_xf" }))).await;
    assert_eq!((status, refused["error"]["class"].as_str()), (404, Some("ProviderNotFound")));
    let (status, _) = connect(body(json!({ "code": "fakebank_simple_xf", "include_sandboxes": true }))).await;
    assert_eq!(status, 200);
    let (status, _) = connect(body(json!({ "code": "musterbank_de" }))).await;
    assert_eq!(status, 200);
    let mut flat = body(json!({}));
    flat["data"]["provider_code"] = json!("musterbank_de");
    let (status, refused) = connect(flat).await;
    assert_eq!((status, refused["error"]["class"].as_str()), (400, Some("WrongRequestFormat")));

    // The hosted page of a session without sandboxes neither offers nor accepts a fake bank.
    let (_, session) = connect(body(json!({}))).await;
    let url = session["data"]["connect_url"].as_str().unwrap().to_string();
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("musterbank_de") && !page.contains("fakebank_simple_xf"));
    let chosen = submit_form(&url, Some("fakebank_simple_xf"), "username", "secret", None, true).await.unwrap();
    assert_eq!(chosen.status, 422);
    assert!(client.list_connections(&customer).await.unwrap().is_empty());
    sandbox.stop().await;
}

#[tokio::test]
async fn interactive_banks_send_the_interactive_callback_and_time_out_without_a_user() {
    let sink = CallbackSink::start().await;
    let (sandbox, client) =
        start(SandboxConfig { callback_base_url: Some(sink.base_url.clone()), ..small_config() }).await;
    let (_, connection_id) = link(&client, "sms", "fakebank_interactive_xf", "username").await;
    let received = sink.wait_for(5).await;
    assert_eq!(sink.kinds(), ["notify", "interactive", "notify", "notify", "success"]);
    let interactive = &received[1];
    assert!(interactive.url.ends_with("/saltedge/callbacks/interactive"));
    assert!(verify_callback(
        &sandbox.public_key_pem,
        &interactive.url,
        &interactive.body,
        interactive.signature.as_deref().unwrap()
    ));
    let body: Value = serde_json::from_slice(&interactive.body).unwrap();
    assert_eq!(body["data"]["stage"], "interactive");
    assert_eq!(body["data"]["connection_id"], connection_id.as_str());
    assert_eq!(body["data"]["interactive_fields_names"], json!(["sms_code"]));
    assert!(body["data"]["html"].is_string() && body["data"]["session_expires_at"].is_string());
    assert_eq!(client.list_accounts(&connection_id).await.unwrap().len(), 2);

    // A background refresh has nobody to type the code: interactive callback, then the attempt
    // fails with InteractiveTimeout and brings nothing; the connection stays active.
    let account = client.list_accounts(&connection_id).await.unwrap().remove(0);
    let before = client.transactions_page(&connection_id, &account.id, None, false, 1000).await.unwrap().data;
    let (status, _) = background_refresh_raw(&sandbox, &connection_id).await;
    assert_eq!(status, 200);
    let connection = wait_for_attempt(&client, &connection_id).await;
    assert_eq!(connection.fail_error_class(), Some("InteractiveTimeout"));
    assert!(connection.is_active());
    let after = client.transactions_page(&connection_id, &account.id, None, false, 1000).await.unwrap().data;
    assert_eq!(before, after);
    let received = sink.wait_for(8).await;
    let kinds: Vec<&str> = received[5..].iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["notify", "interactive", "fail"]);
    let fail: Value = serde_json::from_slice(&received[7].body).unwrap();
    assert_eq!(fail["data"]["error_class"], "InteractiveTimeout");
    sandbox.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn connect_page_names_who_asks_and_never_shows_an_error_class() {
    let (sandbox, client) = start(small_config()).await;
    let customer = client.create_customer("page-names").await.unwrap().customer_id;
    let session_for = |custom_fields: Option<Value>| {
        let mut options = crate::saltedge::ConnectOptions::new(RETURN_TO);
        options.provider_code = Some("fakebank_with_error_xf".into());
        options.include_sandboxes = true;
        options.custom_fields = custom_fields;
        let client = client.clone();
        let customer = customer.clone();
        async move { client.connect_with(&customer, &options).await.unwrap().connect_url }
    };
    // The company named in the request asks; the name is escaped.
    let url = session_for(Some(json!({ "link_id": "7", "company_name": "Dupont & <Fils>" }))).await;
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("<strong>Dupont &amp; &lt;Fils&gt;</strong> asks to connect your bank account."), "{page}");
    assert!(page.contains("transactions with Dupont &amp; &lt;Fils&gt; for 90 days"));
    assert!(!page.contains("this application"));
    // Without one, the client application asks.
    let url = session_for(None).await;
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("<strong>bankbridge</strong> asks to connect your bank account."));

    // Errors are words for the bank customer; the class only travels to the application.
    for (password, words) in [
        ("ProviderUnavailable", "Fake Bank with Error could not be reached. Please try again later."),
        ("wrong", "The login or password is not correct. Check them and try again."),
    ] {
        let url = session_for(Some(json!({ "company_name": "Dupont" }))).await;
        let failed = submit_form(&url, None, "username", password, None, true).await.unwrap();
        assert_eq!(failed.status, 422);
        assert_eq!(alert_text(&failed.body), words);
        let text_only: String =
            failed.body.split('<').map(|part| part.split_once('>').map_or(part, |(_, text)| text)).collect();
        for class in ["ProviderUnavailable", "InvalidCredentials"] {
            assert!(!text_only.contains(class), "{class} shown: {text_only}");
        }
        // Same layout as the form: the banner and the title.
        assert!(
            failed.body.contains("class=\"banner\"") && failed.body.contains("<h1>Connect Fake Bank with Error</h1>")
        );
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn return_to_gets_connection_id_only_when_asked() {
    let (sandbox, client) = start(small_config()).await;
    let customer = client.create_customer("return").await.unwrap().customer_id;
    for (asked, expect_id) in [(None, false), (Some(false), false), (Some(true), true)] {
        let mut body = json!({ "data": {
            "customer_id": customer,
            "consent": { "scopes": ["accounts", "transactions"] },
            "attempt": { "return_to": RETURN_TO },
            "provider": { "code": "musterbank_de" },
        }});
        if let Some(asked) = asked {
            body["data"]["return_connection_id"] = json!(asked);
        }
        let (status, session) = api_call(&sandbox, reqwest::Method::POST, "connections/connect", Some(body)).await;
        assert_eq!(status, 200);
        let url = session["data"]["connect_url"].as_str().unwrap();
        let done = submit_form(url, None, &format!("user-{asked:?}"), "secret", None, true).await.unwrap();
        assert_eq!(done.status, 302, "{}", done.body);
        assert_eq!(done.connection_id().is_some(), expect_id, "{asked:?}: {:?}", done.location);
        if !expect_id {
            assert_eq!(done.location.as_deref(), Some(RETURN_TO));
        }
    }
    sandbox.stop().await;
}
