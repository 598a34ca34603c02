//! Start-up's Enable Banking configuration against a real (sandbox) server: a configured application is
//! used as given, and the committed sandbox key is refused for anything but the built-in sandbox.

use std::net::SocketAddr;

use super::*;
use crate::sandbox::enablebanking::{spawn, EbSandboxConfig, SANDBOX_APP_PRIVATE_KEY_PEM};

fn key_file(name: &str, pem: &str) -> String {
    let path = std::env::temp_dir().join(format!("bankbridge-eb-key-{name}-{}.pem", std::process::id()));
    std::fs::write(&path, pem).expect("key file");
    path.to_string_lossy().into_owned()
}

/// An application of its own (here the Salt Edge sandbox's test key stands for the customer's key) at a
/// server that knows it: the client signs with it, and `GET /application` answers for it.
#[tokio::test]
async fn a_configured_application_signs_with_its_own_key() {
    let config = EbSandboxConfig {
        app_id: "0f5d2c8e-1b7a-4e0c-9d3f-2a6b8c4e1f70".into(),
        app_public_key_pem: sandbox::SANDBOX_PUBLIC_KEY_PEM.into(),
        redirect_urls: vec![EnableBanking::redirect_url_of("https://bridge.example")],
        ..EbSandboxConfig::default()
    };
    let handle = spawn(config, SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("sandbox");
    let options = EnableBankingOptions {
        url: Some(handle.base_url.to_string()),
        app_id: Some(" 0f5d2c8e-1b7a-4e0c-9d3f-2a6b8c4e1f70 ".into()),
        private_key_file: Some(key_file("own", sandbox::SANDBOX_PRIVATE_KEY_PEM)),
        psu_type: Some(PsuType::Personal),
    };
    assert!(options.has_credentials());
    let eb = configured_enablebanking(&options, "https://bridge.example".into()).expect("configured");
    assert_eq!(eb.psu_type, PsuType::Personal);
    let application = eb.client.application().await.expect("application");
    assert_eq!(application.redirect_urls, vec![eb.redirect_url()]);
    handle.stop().await;
}

#[test]
fn the_sandbox_key_and_unreadable_keys_are_refused() {
    let options = |file: String| EnableBankingOptions {
        app_id: Some("app".into()),
        private_key_file: Some(file),
        ..EnableBankingOptions::default()
    };
    let err = configured_enablebanking(&options(key_file("sandbox", SANDBOX_APP_PRIVATE_KEY_PEM)), "http://x".into())
        .err()
        .expect("refused");
    assert!(err.message().contains("private half is public"), "{}", err.message());
    let err =
        configured_enablebanking(&options("/nonexistent/key.pem".into()), "http://x".into()).err().expect("refused");
    assert!(err.message().contains("cannot read the Enable Banking private key file"), "{}", err.message());
    let err =
        configured_enablebanking(&options(key_file("garbage", "not a key")), "http://x".into()).err().expect("refused");
    assert!(err.message().contains("Enable Banking client"), "{}", err.message());
    assert!(!EnableBankingOptions { app_id: Some(" ".into()), ..options("k".into()) }.has_credentials());
}
