//! The sandbox is as strict as the API reference: each test drives it over HTTP with the real client
//! (or a browser's requests for the bank page) and checks what the reference says should happen.

use chrono::{Duration as ChronoDuration, Utc};
use serde_json::json;

use super::test_support::*;
use super::EbSandboxConfig;
use crate::enablebanking::{ErrorKind, SessionStatus, Transaction, TransactionQuery};

async fn all_rows(
    client: &crate::enablebanking::Client,
    uid: &str,
    query: &TransactionQuery,
) -> (Vec<Transaction>, usize) {
    let mut rows = Vec::new();
    let mut pager = client.pager(uid, query.clone());
    while let Some(page) = pager.next().await.expect("transactions") {
        rows.extend(page);
    }
    (rows, pager.pages())
}

#[tokio::test]
async fn the_documented_flow_links_reads_and_ends_a_session() {
    let (handle, client) = start(small_config()).await;
    let application = client.application().await.unwrap();
    assert_eq!(application.kid, super::SANDBOX_APP_ID);
    assert_eq!(application.redirect_urls, vec![REDIRECT_URL.to_string()]);

    let finnish = client.aspsps(Some("FI"), None).await.unwrap();
    assert!(finnish.iter().all(|b| b.country == "FI") && finnish.iter().any(|b| b.name == "Mock Bank"));
    let personal = client.aspsps(None, Some(crate::enablebanking::PsuType::Personal)).await.unwrap();
    assert!(personal.iter().all(|b| b.name != "Mock Business Bank"));
    let bank = finnish.iter().find(|b| b.name == "Mock Bank").unwrap();
    assert_eq!(bank.maximum_consent_validity, Some(180 * 86_400));

    let session = link(&client, MOCK_BANK, "alice").await;
    assert_eq!(session.accounts.len(), 2);
    assert_eq!(session.aspsp.name, "Mock Bank");
    let info = client.session(&session.session_id).await.unwrap();
    assert_eq!(info.status, SessionStatus::Authorized);
    assert_eq!(info.accounts.len(), 2);

    let uid = session.accounts[0].uid.clone().unwrap();
    let details = client.account_details(&uid).await.unwrap();
    assert_eq!(details.identification_hash, session.accounts[0].identification_hash);
    let balances = client.balances(&uid).await.unwrap();
    assert_eq!(balances.booked().map(|b| b.balance_type.as_str()), Some("CLBD"));

    // 60 booked rows over 20 days and 2 pending ones, 25 a page.
    let (rows, pages) = all_rows(&client, &uid, &TransactionQuery::default()).await;
    assert_eq!((rows.len(), pages), (62, 3));
    assert_eq!(rows.iter().filter(|t| t.is_pending()).count(), 2);
    assert!(rows.iter().filter(|t| t.is_booked()).all(|t| t.entry_reference.is_some()));
    let references: std::collections::HashSet<_> = rows.iter().filter_map(|t| t.entry_reference.clone()).collect();
    assert_eq!(references.len(), 60);

    client.delete_session(&session.session_id).await.unwrap();
    assert_eq!(client.session(&session.session_id).await.unwrap().status, SessionStatus::Closed);
    let closed = client.balances(&uid).await.unwrap_err();
    assert_eq!((closed.code(), closed.kind()), (Some("CLOSED_SESSION"), ErrorKind::ConsentExpired));
    // Deleting again is done already.
    client.delete_session(&session.session_id).await.unwrap();
    handle.stop().await;
}

#[tokio::test]
async fn codes_are_single_use_and_short_lived() {
    let (handle, client) = start(small_config()).await;
    let authorization = client.start_authorization(&request(MOCK_BANK, 30, "one")).await.unwrap();
    let (_, location, _) = at_bank(&authorization.url, "bob", "secret", "approve").await;
    let code = param(&location.unwrap(), "code").unwrap();
    client.authorize_session(&code).await.unwrap();
    let again = client.authorize_session(&code).await.unwrap_err();
    assert_eq!((again.code(), again.kind()), (Some("ALREADY_AUTHORIZED"), ErrorKind::WrongState));
    let unknown = client.authorize_session("not-a-code").await.unwrap_err();
    assert_eq!(unknown.code(), Some("WRONG_AUTHORIZATION_CODE"));

    let late = client.start_authorization(&request(MOCK_BANK, 30, "two")).await.unwrap();
    let (_, location, _) = at_bank(&late.url, "bob", "secret", "approve").await;
    let late_code = param(&location.unwrap(), "code").unwrap();
    admin(&handle, "clock", json!({ "advance_secs": super::CODE_LIFETIME_MINUTES * 60 })).await;
    let expired = client.authorize_session(&late_code).await.unwrap_err();
    assert_eq!((expired.code(), expired.kind()), (Some("EXPIRED_AUTHORIZATION_CODE"), ErrorKind::WrongState));
    handle.stop().await;
}

#[tokio::test]
async fn authorization_requests_are_checked_as_documented() {
    let (handle, client) = start(small_config()).await;
    let refused = |e: crate::enablebanking::EnableBankingError| (e.code().map(str::to_string), e.kind());

    let mut other_redirect = request(MOCK_BANK, 30, "s");
    other_redirect.redirect_url = "https://evil.example/return".into();
    assert_eq!(
        refused(client.start_authorization(&other_redirect).await.unwrap_err()),
        (Some("REDIRECT_URI_NOT_ALLOWED".into()), ErrorKind::Config)
    );
    // Mock Bank gives consents of at most 180 days.
    assert_eq!(
        refused(client.start_authorization(&request(MOCK_BANK, 181, "s")).await.unwrap_err()),
        (Some("WRONG_REQUEST_PARAMETERS".into()), ErrorKind::Rejected)
    );
    assert!(client.start_authorization(&request(MOCK_BANK, 179, "s")).await.is_ok());
    assert_eq!(
        refused(client.start_authorization(&request(MOCK_BANK, -1, "s")).await.unwrap_err()).1,
        ErrorKind::Rejected
    );
    let mut no_offset = request(MOCK_BANK, 30, "s");
    no_offset.access.valid_until = (Utc::now() + ChronoDuration::days(3)).format("%Y-%m-%dT%H:%M:%S").to_string();
    assert_eq!(refused(client.start_authorization(&no_offset).await.unwrap_err()).1, ErrorKind::Rejected);
    assert_eq!(
        refused(client.start_authorization(&request(("Nordea", "FI"), 30, "s")).await.unwrap_err()).0.as_deref(),
        Some("WRONG_ASPSP_PROVIDED")
    );
    // Mock Business Bank serves business users only.
    assert_eq!(
        refused(client.start_authorization(&request(("Mock Business Bank", "DE"), 30, "s")).await.unwrap_err()).1,
        ErrorKind::Rejected
    );
    handle.stop().await;
}

#[tokio::test]
async fn the_bank_page_echoes_state_refuses_wrong_logins_and_closes_once_used() {
    let (handle, client) = start(small_config()).await;
    let authorization = client.start_authorization(&request(MOCK_BANK, 30, "a&b=c d")).await.unwrap();
    let (status, location, body) = at_bank(&authorization.url, "carol", "wrong", "approve").await;
    assert_eq!((status, location.is_none()), (401, true));
    assert!(body.contains(super::bank_page::WRONG_LOGIN), "{body}");
    let (status, location, _) = at_bank(&authorization.url, "carol", "", "cancel").await;
    assert_eq!(status, 302);
    let back = location.unwrap();
    assert!(back.as_str().starts_with(REDIRECT_URL));
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("a&b=c d"));
    assert_eq!(param(&back, "code"), None);
    // Finished once: the page is gone.
    assert_eq!(at_bank(&authorization.url, "carol", "secret", "approve").await.0, 410);

    let stale = client.start_authorization(&request(MOCK_BANK, 30, "s")).await.unwrap();
    admin(&handle, "clock", json!({ "advance_secs": super::AUTHORIZATION_LIFETIME_MINUTES * 60 })).await;
    assert_eq!(at_bank(&stale.url, "carol", "secret", "approve").await.0, 410);
    handle.stop().await;
}

#[tokio::test]
async fn expired_and_revoked_sessions_refuse_reads() {
    let (handle, client) = start(small_config()).await;
    let expiring = link(&client, MOCK_BANK, "dave").await;
    let uid = expiring.accounts[0].uid.clone().unwrap();
    admin(&handle, &format!("sessions/{}/expire", expiring.session_id), json!({})).await;
    assert_eq!(client.session(&expiring.session_id).await.unwrap().status, SessionStatus::Expired);
    let err = client.transactions_page(&uid, &TransactionQuery::default(), None).await.unwrap_err();
    assert_eq!(
        (err.code(), err.kind(), err.http_status()),
        (Some("EXPIRED_SESSION"), ErrorKind::ConsentExpired, Some(401))
    );

    let revoked = link(&client, MOCK_BANK, "dave").await;
    admin(&handle, &format!("sessions/{}/revoke", revoked.session_id), json!({})).await;
    let err = client.balances(revoked.accounts[0].uid.as_deref().unwrap()).await.unwrap_err();
    assert_eq!(err.code(), Some("REVOKED_SESSION"));

    // The consent's end date is the session's: after it the session expires on its own.
    let short = link(&client, MOCK_BANK, "erin").await;
    admin(&handle, "clock", json!({ "advance_secs": 31 * 86_400 })).await;
    assert_eq!(client.session(&short.session_id).await.unwrap().status, SessionStatus::Expired);
    handle.stop().await;
}

#[tokio::test]
async fn unattended_reads_are_limited_per_account_and_day() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "frank").await;
    let (first, second) = (session.accounts[0].uid.clone().unwrap(), session.accounts[1].uid.clone().unwrap());
    // A three-page read counts once; details and balances count too.
    let (_, pages) = all_rows(&client, &first, &TransactionQuery::default()).await;
    assert_eq!(pages, 3);
    client.balances(&first).await.unwrap();
    client.account_details(&first).await.unwrap();
    all_rows(&client, &first, &TransactionQuery::default()).await;
    let limited = client.balances(&first).await.unwrap_err();
    assert_eq!(
        (limited.code(), limited.kind(), limited.http_status()),
        (Some("ASPSP_RATE_LIMIT_EXCEEDED"), ErrorKind::RateLimited, Some(429))
    );
    // Per account: the other one is untouched.
    client.balances(&second).await.unwrap();
    // A day later the bank allows reads again.
    admin(&handle, "clock", json!({ "advance_secs": 86_400 })).await;
    client.balances(&first).await.unwrap();
    handle.stop().await;
}

#[tokio::test]
async fn continuation_keys_belong_to_one_read_of_one_session() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "grace").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    let query = TransactionQuery::default();
    let first = client.transactions_page(&uid, &query, None).await.unwrap();
    let key = first.continuation_key.clone().unwrap();
    // The same key again (a retried request) gives the same page.
    let again = client.transactions_page(&uid, &query, Some(&key)).await.unwrap();
    assert_eq!(again, client.transactions_page(&uid, &query, Some(&key)).await.unwrap());
    let booked_only = TransactionQuery { status: Some("BOOK".into()), ..TransactionQuery::default() };
    let err = client.transactions_page(&uid, &booked_only, Some(&key)).await.unwrap_err();
    assert_eq!((err.code(), err.kind()), (Some("WRONG_CONTINUATION_KEY"), ErrorKind::Rejected));
    client.delete_session(&session.session_id).await.unwrap();
    let err = client.transactions_page(&uid, &query, Some(&key)).await.unwrap_err();
    assert_eq!(err.code(), Some("CLOSED_SESSION"));
    handle.stop().await;
}

#[tokio::test]
async fn dates_and_statuses_filter_and_bad_ones_are_refused() {
    let (handle, client) = start(EbSandboxConfig { transactions_per_account: 600, ..small_config() }).await;
    let session = link(&client, MOCK_BANK, "heidi").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    let today = Utc::now().date_naive();
    // Without date_from only 90 days (3 rows a day) are listed, with it the older ones too.
    let (recent, _) =
        all_rows(&client, &uid, &TransactionQuery { status: Some("BOOK".into()), ..Default::default() }).await;
    assert_eq!(recent.len(), 91 * 3);
    let from = today - ChronoDuration::days(150);
    let (older, _) = all_rows(
        &client,
        &uid,
        &TransactionQuery { date_from: Some(from), status: Some("BOOK".into()), ..Default::default() },
    )
    .await;
    assert_eq!(older.len(), 151 * 3);
    assert!(older.iter().all(|t| t.booking_date.unwrap() >= from));
    let (pending, _) =
        all_rows(&client, &uid, &TransactionQuery { status: Some("PDNG".into()), ..Default::default() }).await;
    assert!(pending.len() == 2 && pending.iter().all(Transaction::is_pending));
    admin(&handle, "accounts/reset_reads", json!({ "account": uid })).await;

    for (query, code) in [
        (TransactionQuery { date_to: Some(today), ..Default::default() }, "DATE_TO_WITHOUT_DATE_FROM"),
        (
            TransactionQuery { date_from: Some(today + ChronoDuration::days(1)), ..Default::default() },
            "DATE_FROM_IN_FUTURE",
        ),
        (
            TransactionQuery {
                date_from: Some(today),
                date_to: Some(today - ChronoDuration::days(1)),
                ..Default::default()
            },
            "WRONG_DATE_INTERVAL",
        ),
        (
            TransactionQuery { date_from: Some(today - ChronoDuration::days(800)), ..Default::default() },
            "WRONG_TRANSACTIONS_PERIOD",
        ),
        (TransactionQuery { status: Some("BOOKED".into()), ..Default::default() }, "WRONG_REQUEST_PARAMETERS"),
    ] {
        let err = client.transactions_page(&uid, &query, None).await.unwrap_err();
        assert_eq!((err.code(), err.kind()), (Some(code), ErrorKind::Rejected), "{query:?}");
    }
    handle.stop().await;
}

#[tokio::test]
async fn the_same_user_finds_the_same_accounts_and_history_in_a_new_session() {
    let (handle, client) = start(small_config()).await;
    let first = link(&client, MOCK_BANK, "ivan").await;
    let second = link(&client, MOCK_BANK, "ivan").await;
    let hashes = |s: &crate::enablebanking::Session| {
        s.accounts.iter().map(|a| a.identification_hash.clone()).collect::<Vec<_>>()
    };
    assert_eq!(hashes(&first), hashes(&second));
    assert_ne!(first.accounts[0].uid, second.accounts[0].uid);
    let references = |rows: Vec<Transaction>| rows.into_iter().filter_map(|t| t.entry_reference).collect::<Vec<_>>();
    let old =
        references(all_rows(&client, first.accounts[0].uid.as_deref().unwrap(), &TransactionQuery::default()).await.0);
    let new =
        references(all_rows(&client, second.accounts[0].uid.as_deref().unwrap(), &TransactionQuery::default()).await.0);
    assert_eq!(old, new);
    let other = link(&client, MOCK_BANK, "judy").await;
    assert_ne!(hashes(&first), hashes(&other));
    handle.stop().await;
}

#[tokio::test]
async fn settled_pending_rows_come_back_booked_with_references() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, MOCK_BANK, "ken").await;
    let uid = session.accounts[0].uid.clone().unwrap();
    let answer = admin(&handle, "accounts/settle_pending", json!({ "account": uid, "new_pending": 1 })).await;
    assert_eq!(answer["settled"], 2);
    let (rows, _) = all_rows(&client, &uid, &TransactionQuery::default()).await;
    assert_eq!(rows.iter().filter(|t| t.is_booked()).count(), 62);
    assert_eq!(rows.iter().filter(|t| t.is_pending()).count(), 1);
    assert!(rows.iter().filter(|t| t.is_booked()).all(|t| t.entry_reference.is_some()));
    handle.stop().await;
}

#[tokio::test]
async fn the_unavailable_bank_fails_every_read_with_aspsp_error() {
    let (handle, client) = start(small_config()).await;
    let session = link(&client, ("Mock Unavailable Bank", "FI"), "lena").await;
    let err = client.balances(session.accounts[0].uid.as_deref().unwrap()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.kind(), err.http_status()),
        (Some("ASPSP_ERROR"), ErrorKind::BankUnavailable, Some(400))
    );
    handle.stop().await;
}

#[tokio::test]
async fn requests_without_the_applications_jwt_are_refused() {
    let (handle, _client) = start(small_config()).await;
    let bare = reqwest::get(format!("{}application", handle.base_url)).await.unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    let body: serde_json::Value = bare.json().await.unwrap();
    assert_eq!(body["error"], "AUTHORIZATION_NOT_PROVIDED");
    assert_eq!(body["code"], 401);
    // Another application's id, or another key, is not this application.
    let stranger = client_with(&handle, |cfg| cfg.app_id = "6f1c0e4a-0000-4000-8000-000000000000".into());
    let err = stranger.application().await.unwrap_err();
    assert_eq!((err.code(), err.kind()), (Some("UNAUTHORIZED_ACCESS"), ErrorKind::Config));
    let wrong_key = client_with(&handle, |cfg| cfg.private_key_pem = crate::sandbox::SANDBOX_PRIVATE_KEY_PEM.into());
    assert_eq!(wrong_key.aspsps(None, None).await.unwrap_err().code(), Some("UNAUTHORIZED_ACCESS"));
    handle.stop().await;
}

#[tokio::test]
async fn unknown_routes_answer_like_the_service_not_like_an_error_code() {
    let (handle, client) = start(small_config()).await;
    let err = client.session("00000000-0000-4000-8000-000000000000").await.unwrap_err();
    assert_eq!((err.code(), err.kind()), (Some("SESSION_DOES_NOT_EXIST"), ErrorKind::NotFound));
    let err = client.balances("00000000-0000-4000-8000-000000000000").await.unwrap_err();
    assert_eq!(err.code(), Some("ACCOUNT_DOES_NOT_EXIST"));
    let err = client.session("not-a-uuid").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    handle.stop().await;
}
