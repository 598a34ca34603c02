//! Helpers for the Enable Banking client and sandbox tests: a sandbox on an ephemeral loopback port
//! with a registered redirect URL, the bank page driven over HTTP as a browser would, admin hooks.

use std::net::SocketAddr;

use chrono::{Duration as ChronoDuration, Utc};
use serde_json::Value;
use url::Url;

use super::{spawn, EbSandboxConfig, EbSandboxHandle};
use crate::enablebanking::{
    Access, AspspId, Authorization, Client, ClientConfig, PsuType, Session, StartAuthorization,
};

/// The redirect URL the test application registers.
pub const REDIRECT_URL: &str = "https://bridge.example/enablebanking/return";

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A sandbox with small pages (so paging is exercised) and the test redirect URL.
pub fn small_config() -> EbSandboxConfig {
    EbSandboxConfig {
        redirect_urls: vec![REDIRECT_URL.to_string()],
        transactions_per_account: 60,
        page_size: 25,
        ..EbSandboxConfig::default()
    }
}

pub async fn start(cfg: EbSandboxConfig) -> (EbSandboxHandle, Client) {
    let handle = spawn(cfg, loopback()).await.expect("sandbox starts");
    let client = Client::new(handle.client_config()).expect("client");
    (handle, client)
}

pub fn client_with(handle: &EbSandboxHandle, edit: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = handle.client_config();
    edit(&mut cfg);
    Client::new(cfg).expect("client")
}

/// A `POST /auth` body for `bank` (name, country), valid `days` days, with `state`.
pub fn request(bank: (&str, &str), days: i64, state: &str) -> StartAuthorization {
    StartAuthorization {
        access: Access {
            valid_until: (Utc::now() + ChronoDuration::days(days)).to_rfc3339(),
            balances: None,
            transactions: None,
        },
        aspsp: AspspId { name: bank.0.to_string(), country: bank.1.to_string() },
        state: state.to_string(),
        redirect_url: REDIRECT_URL.to_string(),
        psu_type: PsuType::Personal,
        language: None,
        psu_id: None,
    }
}

/// The browser at the bank: opens the page, then posts the form; returns the status and `Location`.
pub async fn at_bank(url: &str, username: &str, password: &str, action: &str) -> (u16, Option<Url>, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http");
    let page = http.get(url).send().await.expect("bank page");
    let opened = page.status().as_u16();
    let text = page.text().await.unwrap_or_default();
    if opened != 200 {
        return (opened, None, text);
    }
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", username)
        .append_pair("password", password)
        .append_pair("action", action)
        .finish();
    let answer = http
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("bank form");
    let status = answer.status().as_u16();
    let location = answer.headers().get("Location").and_then(|l| l.to_str().ok()).and_then(|l| Url::parse(l).ok());
    (status, location, answer.text().await.unwrap_or_default())
}

/// A query parameter of the redirect back.
pub fn param(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// Starts an authorization at `bank`, approves it at the bank as `user`, and exchanges the code.
pub async fn link(client: &Client, bank: (&str, &str), user: &str) -> Session {
    let authorization: Authorization = client.start_authorization(&request(bank, 30, "s-1")).await.expect("auth");
    let (status, location, body) = at_bank(&authorization.url, user, "secret", "approve").await;
    assert_eq!(status, 302, "bank page said: {body}");
    let location = location.expect("redirect back");
    assert_eq!(param(&location, "state").as_deref(), Some("s-1"));
    let code = param(&location, "code").expect("code");
    client.authorize_session(&code).await.expect("session")
}

pub async fn admin(handle: &EbSandboxHandle, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(handle.admin_url(path))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin call");
    assert!(response.status().is_success(), "admin {path}: {}", response.status());
    response.json().await.expect("admin JSON")
}

pub const MOCK_BANK: (&str, &str) = ("Mock Bank", "FI");
