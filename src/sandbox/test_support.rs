//! Helpers shared by the sandbox and client tests: start a sandbox on an ephemeral loopback
//! port, link connections through the hosted page, receive callbacks, call admin hooks.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;
use url::Url;

use super::{spawn, submit_form, SandboxConfig, SandboxHandle};
use crate::saltedge::{Client, ClientConfig, ConnectOptions, ConnectSession, Connection};

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Attempt length of [`small_config`]: asynchronous like Salt Edge, short enough for tests.
pub const TEST_ATTEMPT_DELAY: Duration = Duration::from_millis(200);

/// A sandbox with a small dataset, short asynchronous attempts and no refresh spacing unless
/// the test says otherwise.
pub fn small_config() -> SandboxConfig {
    SandboxConfig {
        transactions_per_account: 25,
        pending_per_account: 2,
        refresh_interval: Duration::ZERO,
        attempt_delay: TEST_ATTEMPT_DELAY,
        ..SandboxConfig::default()
    }
}

/// Polls the connection until its last attempt has finished (at most 20 s), as a bridge
/// without callbacks would; returns it.
pub async fn wait_for_attempt(client: &Client, connection_id: &str) -> Connection {
    for _ in 0..400 {
        let connection = client.get_connection(connection_id).await.expect("connection readable");
        if connection.last_attempt.as_ref().and_then(|attempt| attempt.finished) == Some(true) {
            return connection;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the attempt of connection {connection_id} did not finish within 20 s");
}

pub async fn start(cfg: SandboxConfig) -> (SandboxHandle, Client) {
    let handle = spawn(cfg, loopback()).await.expect("sandbox starts");
    let client = Client::new(handle.client_config()).expect("client");
    (handle, client)
}

pub fn client_with(handle: &SandboxHandle, edit: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = handle.client_config();
    edit(&mut cfg);
    Client::new(cfg).expect("client")
}

pub const RETURN_TO: &str = "https://odoo.example/saltedge/return?state=abc";

/// Creates a customer (if needed) and links `provider_code` with `login` / `secret`, then
/// waits for the link's attempt to finish (its accounts exist afterwards).
pub async fn link(client: &Client, identifier: &str, provider_code: &str, login: &str) -> (String, String) {
    let customer = client.get_or_create_customer(identifier).await.expect("customer");
    let session = connect_session(client, &customer.customer_id, Some(provider_code), RETURN_TO).await;
    let sms = (provider_code == "fakebank_interactive_xf").then_some("123456");
    let result = submit_form(&session.connect_url, None, login, "secret", sms, true).await.expect("form submitted");
    assert_eq!(result.status, 302, "connect page said: {}", result.body);
    let connection_id = result.connection_id().expect("connection_id in redirect");
    wait_for_attempt(client, &connection_id).await;
    (customer.customer_id, connection_id)
}

/// `POST /connections/connect` as a Test-status client linking a fake bank does it
/// (`provider.include_sandboxes: true`).
pub async fn connect_session(
    client: &Client,
    customer_id: &str,
    provider_code: Option<&str>,
    return_to: &str,
) -> ConnectSession {
    let mut options = ConnectOptions::new(return_to);
    options.provider_code = provider_code.map(str::to_string);
    options.include_sandboxes = true;
    client.connect_with(customer_id, &options).await.expect("connect session")
}

pub async fn admin(handle: &SandboxHandle, path: &str, body: Value) -> Value {
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

/// One received callback.
#[derive(Debug, Clone)]
pub struct Received {
    pub url: String,
    pub kind: String,
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

/// A tiny HTTP server that records callbacks.
pub struct CallbackSink {
    pub base_url: Url,
    pub received: Arc<Mutex<Vec<Received>>>,
    server: ServerHandle,
}

impl CallbackSink {
    pub async fn start() -> CallbackSink {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = received.clone();
        let listener = std::net::TcpListener::bind(loopback()).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base_url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
        let base = base_url.clone();
        let server = HttpServer::new(move || {
            let store = store.clone();
            let base = base.clone();
            App::new().route(
                "/saltedge/callbacks/{kind}",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let store = store.clone();
                    let base = base.clone();
                    async move {
                        let kind = req.match_info().query("kind").to_string();
                        let record = Received {
                            url: format!("{}saltedge/callbacks/{kind}", base),
                            kind,
                            signature: req.headers().get("Signature").and_then(|v| v.to_str().ok()).map(str::to_string),
                            body: body.to_vec(),
                        };
                        store.lock().expect("lock").push(record);
                        HttpResponse::Ok().finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        CallbackSink { base_url, received, server: handle }
    }

    pub fn kinds(&self) -> Vec<String> {
        self.received.lock().expect("lock").iter().map(|r| r.kind.clone()).collect()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until `count` callbacks arrived (spawned callbacks are asynchronous).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..100 {
            if self.received.lock().expect("lock").len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.all()
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}
