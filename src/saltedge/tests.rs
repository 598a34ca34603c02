//! The client against the sandbox, over real HTTP on 127.0.0.1 (ephemeral ports).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::sandbox::test_support::{admin, client_with, connect_session, link, small_config, start, wait_for_attempt};
use crate::sandbox::SandboxConfig;

/// Pages through all transactions of one account, checking order and paging invariants.
async fn all_transactions(
    client: &Client,
    connection_id: &str,
    account_id: &str,
    pending: bool,
    per_page: u32,
) -> (Vec<Transaction>, usize) {
    let mut rows: Vec<Transaction> = Vec::new();
    let mut from_id: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .transactions_page(connection_id, account_id, from_id.as_deref(), pending, per_page)
            .await
            .expect("transactions page");
        pages += 1;
        assert!(page.data.len() <= per_page as usize);
        rows.extend(page.data);
        match page.next_id {
            Some(next) => from_id = Some(next),
            None => break,
        }
    }
    (rows, pages)
}

fn assert_unique_ascending(rows: &[Transaction]) {
    let ids: Vec<u64> = rows.iter().map(|t| t.id.parse().expect("numeric id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend strictly");
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
}

#[tokio::test]
async fn providers_are_listed_across_pages() {
    let (sandbox, client) = start(SandboxConfig { page_size: 4, ..small_config() }).await;
    let everything = client.list_providers(None, true).await.unwrap();
    assert_eq!(everything.len(), crate::sandbox::data::PROVIDERS.len());
    let codes: HashSet<&str> = everything.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes.len(), everything.len(), "no provider twice");
    assert!(codes.contains("fakebank_simple_xf") && codes.contains("fakebank_interactive_xf"));

    let fake = client.list_providers(Some("XF"), true).await.unwrap();
    assert!(fake.len() >= 3 && fake.iter().all(Provider::is_fake));
    let interactive = fake.iter().find(|p| p.code == "fakebank_interactive_xf").unwrap();
    assert!(interactive.is_interactive());

    let real = client.list_providers(None, false).await.unwrap();
    assert!(!real.is_empty() && real.iter().all(|p| !p.is_fake()));
    let german = client.list_providers(Some("de"), false).await.unwrap();
    assert!(!german.is_empty() && german.iter().all(|p| p.country_code == "DE"));
    sandbox.stop().await;
}

#[tokio::test]
async fn customers_create_duplicate_and_find() {
    let (sandbox, client) = start(SandboxConfig { page_size: 2, ..small_config() }).await;
    for n in 0..5 {
        client.create_customer(&format!("company-{n}")).await.unwrap();
    }
    let err = client.create_customer("company-3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Duplicate);
    assert_eq!(err.class(), Some("DuplicatedCustomer"));
    assert_eq!(err.http_status(), Some(409));

    let found = client.find_customer("company-4").await.unwrap().unwrap();
    assert_eq!(found.identifier, "company-4");
    assert!(client.find_customer("nobody").await.unwrap().is_none());
    let again = client.get_or_create_customer("company-4").await.unwrap();
    assert_eq!(again.customer_id, found.customer_id);
    let fresh = client.get_or_create_customer("company-9").await.unwrap();
    assert_ne!(fresh.customer_id, found.customer_id);
    sandbox.stop().await;
}

#[tokio::test]
async fn full_flow_connect_accounts_transactions_remove() {
    let (sandbox, client) = start(SandboxConfig {
        transactions_per_account: 2_500,
        pending_per_account: 3,
        refresh_interval: Duration::from_secs(300),
        ..SandboxConfig::default()
    })
    .await;
    let customer = client.create_customer("acme").await.unwrap();
    // A Test-status client links a fake bank with provider.include_sandboxes.
    let session =
        connect_session(&client, &customer.customer_id, Some("fakebank_simple_xf"), "https://odoo.example/return")
            .await;
    assert!(session.connect_url.starts_with(sandbox.root_url.as_str()));
    assert!(session.expires_at_utc().unwrap() > chrono::Utc::now());
    let page = reqwest::get(&session.connect_url).await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"consent\"") && page.contains("Fake Bank Simple"));

    let form = crate::sandbox::submit_form(&session.connect_url, None, "username", "secret", None, true).await.unwrap();
    assert_eq!(form.status, 302);
    assert!(form.location.as_deref().unwrap().starts_with("https://odoo.example/return?connection_id="));
    let connection_id = form.connection_id().unwrap();
    wait_for_attempt(&client, &connection_id).await;

    let connection = client.get_connection(&connection_id).await.unwrap();
    assert!(connection.is_active());
    assert_eq!(connection.provider_code, "fakebank_simple_xf");
    assert_eq!(connection.customer_id.as_deref(), Some(customer.customer_id.as_str()));
    assert!(connection.last_success_at().is_some());
    assert_eq!(client.list_connections(&customer.customer_id).await.unwrap().len(), 1);

    let consents = client.list_consents(&connection_id).await.unwrap();
    assert_eq!(consents.len(), 1);
    let days_left = (consents[0].expires_at_utc().unwrap() - chrono::Utc::now()).num_days();
    assert!((88..=90).contains(&days_left), "{days_left}");

    let accounts = client.list_accounts(&connection_id).await.unwrap();
    assert_eq!(accounts.len(), 2);
    let account = &accounts[0];
    assert!(account.extra.iban.is_some());
    assert_eq!(account.extra.transactions_count.as_ref().unwrap().posted, 2_500);

    // 2,500 posted rows at 1,000 a page: 3 pages, no gaps, no duplicates.
    let (posted, pages) = all_transactions(&client, &connection_id, &account.id, false, 1000).await;
    assert_eq!(pages, 3);
    assert_eq!(posted.len(), 2_500);
    assert_unique_ascending(&posted);
    assert!(posted.iter().all(|t| t.status == "posted" && t.account_id.as_deref() == Some(account.id.as_str())));
    let first: u64 = posted[0].id.parse().unwrap();
    let last: u64 = posted[2_499].id.parse().unwrap();
    assert_eq!(last - first, 2_499, "no gaps");

    // Pending rows are listed separately.
    let (pending, _) = all_transactions(&client, &connection_id, &account.id, true, 1000).await;
    assert_eq!(pending.len(), 3);
    assert!(pending.iter().all(Transaction::is_pending));
    let posted_ids: HashSet<&str> = posted.iter().map(|t| t.id.as_str()).collect();
    assert!(pending.iter().all(|t| !posted_ids.contains(t.id.as_str())));

    // Too early to refresh: "retry later", not retried in the call.
    let err = client.background_refresh(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetryLater);
    assert_eq!(err.class(), Some("ConnectionCannotBeRefreshed"));
    admin(&sandbox, &format!("connections/{connection_id}/next_refresh"), json!({ "in_secs": -1 })).await;
    client.background_refresh(&connection_id).await.unwrap();
    wait_for_attempt(&client, &connection_id).await;
    // The refresh settled the 3 pending rows (new ids, same content), brought 5 new posted rows
    // (one of them a duplicate, listed only with duplicated=true) and 3 new pending ones.
    let (posted_after, _) = all_transactions(&client, &connection_id, &account.id, false, 1000).await;
    assert_eq!(posted_after.len(), 2_500 + 3 + 4);
    assert_unique_ascending(&posted_after);
    let settled = &posted_after[2_500..];
    for (before, after) in pending.iter().zip(settled) {
        assert_eq!(before.amount, after.amount);
        assert_eq!(before.description, after.description);
        assert_ne!(before.id, after.id);
    }
    let (pending_after, _) = all_transactions(&client, &connection_id, &account.id, true, 1000).await;
    assert_eq!(pending_after.len(), 3);
    assert!(pending_after.iter().all(|t| !pending.iter().any(|p| p.id == t.id)));

    // Removing is idempotent.
    client.remove_connection(&connection_id).await.unwrap();
    client.remove_connection(&connection_id).await.unwrap();
    let err = client.get_connection(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.class(), Some("ConnectionNotFound"));
    sandbox.stop().await;
}

#[tokio::test]
async fn expired_or_revoked_consent_needs_the_user() {
    let (sandbox, client) = start(small_config()).await;
    let (_, expiring) = link(&client, "c1", "fakebank_simple_xf", "alice").await;
    client.list_accounts(&expiring).await.unwrap();
    admin(&sandbox, &format!("connections/{expiring}/expire_consent"), json!({})).await;
    let err = client.list_accounts(&expiring).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NeedsUser);
    assert_eq!(err.class(), Some("AispConsentExpired"));
    let err = client.background_refresh(&expiring).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NeedsUser);
    // Reconnecting renews the consent.
    let session = client.reconnect(&expiring, "https://odoo.example/back").await.unwrap();
    let form = crate::sandbox::submit_form(&session.connect_url, None, "alice", "secret", None, true).await.unwrap();
    assert_eq!(form.status, 302, "{}", form.body);
    wait_for_attempt(&client, &expiring).await;
    client.list_accounts(&expiring).await.unwrap();
    assert_eq!(client.list_consents(&expiring).await.unwrap().len(), 2);

    let (_, revoked) = link(&client, "c1", "fakebank_interactive_xf", "bob").await;
    let consent = client.list_consents(&revoked).await.unwrap().remove(0);
    let consent = client.revoke_consent(&revoked, &consent.id).await.unwrap();
    assert!(consent.is_revoked());
    let err = client.transactions_page(&revoked, "1", None, false, 10).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NeedsUser);
    assert_eq!(err.class(), Some("AispConsentRevoked"));
    sandbox.stop().await;
}

#[tokio::test]
async fn wrong_credentials_are_config_errors() {
    let (sandbox, _) = start(small_config()).await;
    let wrong_secret = client_with(&sandbox, |cfg| cfg.secret = "nope-not-it".into());
    let err = wrong_secret.list_providers(None, false).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.class(), Some("WrongClientSecret"));
    assert_eq!(err.http_status(), Some(401));
    assert!(!err.to_string().contains("nope-not-it"));
    let wrong_app = client_with(&sandbox, |cfg| cfg.app_id = "someone-else".into());
    let err = wrong_app.list_providers(None, false).await.unwrap_err();
    assert_eq!(err.class(), Some("ClientNotFound"));
    assert_eq!(err.kind(), ErrorKind::Config);
    sandbox.stop().await;
}

#[tokio::test]
async fn signed_requests_are_verified_by_the_sandbox() {
    let client_public = include_str!("../../tests/fixtures/saltedge/keys/client_public.pem");
    let client_private = include_str!("../../tests/fixtures/saltedge/keys/client_private.pem");
    let (sandbox, unsigned) = start(SandboxConfig {
        client_public_key_pem: Some(client_public.to_string()),
        require_signature: true,
        ..small_config()
    })
    .await;
    let signed = client_with(&sandbox, |cfg| cfg.private_key_pem = Some(client_private.to_string()));
    // GET with a query string and POST with a body both verify.
    signed.list_providers(Some("XF"), true).await.unwrap();
    signed.create_customer("signed & sealed").await.unwrap();

    let err = unsigned.list_providers(None, false).await.unwrap_err();
    assert_eq!(err.class(), Some("MissingSignature"));
    assert_eq!(err.kind(), ErrorKind::Config);

    let other_key =
        client_with(&sandbox, |cfg| cfg.private_key_pem = Some(crate::sandbox::SANDBOX_PRIVATE_KEY_PEM.to_string()));
    let err = other_key.create_customer("x").await.unwrap_err();
    assert_eq!(err.class(), Some("SignatureNotMatch"));
    assert_eq!(err.kind(), ErrorKind::Config);

    let bad_key = ClientConfig {
        private_key_pem: Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into()),
        ..sandbox.client_config()
    };
    assert_eq!(Client::new(bad_key).unwrap_err().kind(), ErrorKind::Config);
    sandbox.stop().await;
}

#[test]
fn debug_output_hides_secrets() {
    let mut cfg = ClientConfig::new(Url::parse(DEFAULT_BASE_URL).unwrap(), "app", "top-secret-value");
    cfg.private_key_pem = Some(include_str!("../../tests/fixtures/saltedge/keys/client_private.pem").into());
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("top-secret-value") && !shown.contains("PRIVATE KEY"));
    let client = Client::new(cfg).unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("top-secret-value") && !shown.contains("PRIVATE KEY"));
    assert_eq!(client.base_url().as_str(), DEFAULT_BASE_URL);
}

// ------------------------------------------------------------------ fault modes

/// Sandbox with one connection of 2,500 rows per account, ready for fault tests.
async fn faulty_setup() -> (crate::sandbox::SandboxHandle, Client, String, String) {
    let (sandbox, client) =
        start(SandboxConfig { transactions_per_account: 2_500, accounts_per_connection: 1, ..small_config() }).await;
    let (_, connection_id) = link(&client, "faulty", "fakebank_simple_xf", "username").await;
    let account_id = client.list_accounts(&connection_id).await.unwrap().remove(0).id;
    (sandbox, client, connection_id, account_id)
}

async fn set_faults(sandbox: &crate::sandbox::SandboxHandle, faults: serde_json::Value) {
    admin(sandbox, "faults", faults).await;
}

#[tokio::test]
async fn transient_faults_are_retried_and_the_set_stays_exact() {
    let (sandbox, client, connection_id, account_id) = faulty_setup().await;
    for faults in [
        json!({ "mode": "rate_limit", "every_nth": 2, "retry_after_secs": 0 }),
        json!({ "mode": "server_error", "every_nth": 2, "status": 503 }),
        json!({ "mode": "server_error", "every_nth": 3 }),
        json!({ "mode": "drop", "every_nth": 2 }),
    ] {
        set_faults(&sandbox, faults.clone()).await;
        let (rows, pages) = all_transactions(&client, &connection_id, &account_id, false, 500).await;
        assert_eq!(pages, 5, "{faults}");
        assert_eq!(rows.len(), 2_500, "{faults}");
        assert_unique_ascending(&rows);
    }
    set_faults(&sandbox, json!({ "mode": "none" })).await;
    sandbox.stop().await;
}

#[tokio::test]
async fn exhausted_retries_malformed_json_and_timeouts() {
    let (sandbox, _, connection_id, account_id) = faulty_setup().await;
    let impatient = client_with(&sandbox, |cfg| {
        cfg.max_retries = 2;
        cfg.backoff_base = Duration::from_millis(10);
        cfg.timeout = Duration::from_millis(400);
    });

    set_faults(&sandbox, json!({ "mode": "rate_limit", "every_nth": 1, "retry_after_secs": 0 })).await;
    let err = impatient.list_accounts(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetryLater);
    assert_eq!(err.http_status(), Some(429));
    assert_eq!(err.class(), Some("RateLimitExceeded"));
    let state: serde_json::Value = reqwest::get(sandbox.admin_url("state")).await.unwrap().json().await.unwrap();
    assert_eq!(state["faults"]["mode"], "rate_limit");

    // A long Retry-After is handed to the caller instead of blocking the call.
    set_faults(&sandbox, json!({ "mode": "rate_limit", "every_nth": 1, "retry_after_secs": 3600 })).await;
    let err = impatient.list_accounts(&connection_id).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));

    set_faults(&sandbox, json!({ "mode": "server_error", "every_nth": 1 })).await;
    let err = impatient.list_accounts(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetryLater);
    assert_eq!(err.http_status(), Some(500));

    set_faults(&sandbox, json!({ "mode": "drop", "every_nth": 1 })).await;
    let err = impatient.list_accounts(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetryLater);
    assert_eq!(err.http_status(), None);

    set_faults(&sandbox, json!({ "mode": "malformed", "every_nth": 1 })).await;
    let err = impatient.transactions_page(&connection_id, &account_id, None, false, 100).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(!err.to_string().contains("<html>"), "no body in messages: {err}");

    // A body that never ends is cut at the limit instead of filling memory.
    set_faults(&sandbox, json!({ "mode": "endless_body", "every_nth": 1 })).await;
    let err = impatient.transactions_page(&connection_id, &account_id, None, false, 100).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.message().contains("larger than 16 MiB"), "{err}");

    set_faults(&sandbox, json!({ "mode": "slow", "every_nth": 1, "delay_ms": 1500 })).await;
    let started = std::time::Instant::now();
    let err = impatient.list_accounts(&connection_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetryLater);
    assert!(err.message().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Writes are never faulted, and reads recover once the fault is gone.
    set_faults(&sandbox, json!({ "mode": "none" })).await;
    impatient.list_accounts(&connection_id).await.unwrap();
    sandbox.stop().await;
}
