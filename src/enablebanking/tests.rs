//! The client against the built-in sandbox with faults: what is retried and what is not, paging that
//! never ends, bodies that never end, and messages that keep ids out.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::sandbox::enablebanking::test_support::*;

async fn faults(handle: &crate::sandbox::enablebanking::EbSandboxHandle, body: serde_json::Value) {
    admin(handle, "faults", body).await;
}

async fn read_all(client: &Client, uid: &str) -> Result<(usize, usize), EnableBankingError> {
    let mut rows = 0;
    let mut pager = client.pager(uid, TransactionQuery::default());
    while let Some(page) = pager.next().await? {
        rows += page.len();
    }
    Ok((rows, pager.pages()))
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_for_reads() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "anna").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    faults(&handle, json!({ "mode": "throttle", "times": 2, "retry_after_secs": 0 })).await;
    assert_eq!(read_all(&client, &uid).await.unwrap(), (62, 3));
    faults(&handle, json!({ "mode": "server_error", "status": 503, "times": 3 })).await;
    assert!(client.aspsps(None, None).await.is_ok());
    // More failures than retries: the last one comes back, as a transient error.
    let impatient = client_with(&handle, |cfg| cfg.max_retries = 1);
    faults(&handle, json!({ "mode": "server_error", "times": 2 })).await;
    let err = impatient.aspsps(None, None).await.unwrap_err();
    assert_eq!((err.kind(), err.http_status()), (ErrorKind::RetryLater, Some(500)));
    handle.stop().await;
}

#[tokio::test]
async fn state_changing_posts_are_not_replayed_after_a_server_error() {
    let (handle, client) = start(small_config()).await;
    faults(&handle, json!({ "mode": "server_error", "path_contains": "auth", "times": 1 })).await;
    // Retried, this call would have succeeded: it must not be.
    let err = client.start_authorization(&request(MOCK_BANK, 30, "s")).await.unwrap_err();
    assert_eq!((err.kind(), err.http_status()), (ErrorKind::RetryLater, Some(500)));
    // Enable Banking's own 429 means the request was not processed: that one is retried.
    faults(&handle, json!({ "mode": "throttle", "path_contains": "auth", "times": 1, "retry_after_secs": 0 })).await;
    assert!(client.start_authorization(&request(MOCK_BANK, 30, "s")).await.is_ok());
    handle.stop().await;
}

#[tokio::test]
async fn the_banks_limit_and_failures_are_not_retried() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "bert").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    faults(&handle, json!({ "mode": "aspsp_rate_limit", "times": 1 })).await;
    let err = client.balances(&uid).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    faults(&handle, json!({ "mode": "aspsp_error", "times": 1 })).await;
    assert_eq!(client.balances(&uid).await.unwrap_err().kind(), ErrorKind::BankUnavailable);
    // Each fault hit once: the calls were not retried into the healthy sandbox.
    assert!(client.balances(&uid).await.is_ok());
    handle.stop().await;
}

#[tokio::test]
async fn paging_that_never_ends_is_stopped() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "cleo").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    let bounded = client_with(&handle, |cfg| cfg.max_pages = 20);
    faults(&handle, json!({ "mode": "endless_pages", "path_contains": "transactions" })).await;
    let mut pages_seen = 0;
    let mut pager = bounded.pager(&uid, TransactionQuery::default());
    let err = loop {
        match pager.next().await {
            Ok(Some(_)) => pages_seen += 1,
            Ok(None) => panic!("an endless paging ended"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.message().contains("20 pages"), "{err}");
    assert_eq!(pages_seen, 20);
    faults(&handle, json!({ "mode": "repeat_key", "path_contains": "transactions" })).await;
    let err = read_all(&client, &uid).await.unwrap_err();
    assert!(err.kind() == ErrorKind::Protocol && err.message().contains("did not advance"), "{err}");
    faults(&handle, json!({ "mode": "repeat_page", "path_contains": "transactions" })).await;
    let err = read_all(&client, &uid).await.unwrap_err();
    assert!(err.kind() == ErrorKind::Protocol && err.message().contains("repeated"), "{err}");
    handle.stop().await;
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_the_limit() {
    let (handle, client) = start(small_config()).await;
    faults(&handle, json!({ "mode": "endless_body", "times": 1 })).await;
    let err = client.aspsps(None, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.message().contains("MiB"), "{err}");
    faults(&handle, json!({ "mode": "malformed", "times": 1 })).await;
    assert_eq!(client.aspsps(None, None).await.unwrap_err().kind(), ErrorKind::Protocol);
    handle.stop().await;
}

#[tokio::test]
async fn timeouts_are_transient_and_messages_keep_ids_out() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "dora").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    let hasty = client_with(&handle, |cfg| {
        cfg.timeout = Duration::from_millis(300);
        cfg.max_retries = 0;
    });
    faults(&handle, json!({ "mode": "slow", "delay_ms": 2000, "times": 1 })).await;
    let err = hasty.balances(&uid).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetryLater);
    let text = err.to_string();
    assert!(text.contains("accounts/{id}/balances") && !text.contains(&uid), "{text}");
    handle.stop().await;
}

#[tokio::test]
async fn ids_that_are_not_ids_never_reach_a_path() {
    let (handle, client) = start(small_config()).await;
    for bad in ["../application", "a/b", "", "x?y=1", &"a".repeat(65)] {
        assert_eq!(client.session(bad).await.unwrap_err().kind(), ErrorKind::Rejected, "{bad:?}");
        assert_eq!(client.balances(bad).await.unwrap_err().kind(), ErrorKind::Rejected, "{bad:?}");
    }
    handle.stop().await;
}

#[tokio::test]
async fn an_unusable_key_fails_at_construction_without_showing_it() {
    let mut cfg = ClientConfig::new(
        Url::parse(DEFAULT_BASE_URL).unwrap(),
        "app",
        "-----BEGIN PRIVATE KEY-----\nZZZZ\n-----END PRIVATE KEY-----\n",
    );
    let err = Client::new(cfg.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!err.to_string().contains("ZZZZ"));
    cfg.private_key_pem = crate::sandbox::enablebanking::SANDBOX_APP_PRIVATE_KEY_PEM.into();
    let client = Client::new(cfg.clone()).unwrap();
    assert!(!format!("{client:?} {cfg:?}").contains("PRIVATE"));
}

#[test]
fn the_calls_metric_names_resources_never_ids() {
    let uid = "0f5d2c8e-1b7a-4e0c-9d3f-2a6b8c4e1f70";
    for (path, resource) in [
        ("application", "application"),
        ("aspsps", "aspsps"),
        ("auth", "auth"),
        ("sessions", "sessions"),
        (&*format!("sessions/{uid}"), "sessions"),
        (&*format!("accounts/{uid}/details"), "details"),
        (&*format!("accounts/{uid}/balances"), "balances"),
        (&*format!("accounts/{uid}/transactions"), "transactions"),
        (&*format!("accounts/{uid}"), "other"),
        ("", "other"),
    ] {
        assert_eq!(resource_of(path), resource, "{path}");
    }
}
