//! Parsing Salt Edge's answers, as sent and as older fixtures and fakes send them.

//! Salt Edge's own documented JSON examples (see tests/fixtures/saltedge/README.md for where
//! each one comes from).
use super::*;

const ACCOUNTS: &str = include_str!("../../../tests/fixtures/saltedge/accounts_v6.json");
const TRANSACTIONS: &str = include_str!("../../../tests/fixtures/saltedge/transactions.json");
const CONNECTION: &str = include_str!("../../../tests/fixtures/saltedge/connection.json");
const CUSTOMER_V6: &str = include_str!("../../../tests/fixtures/saltedge/customer_v6.json");
const CUSTOMER_V5: &str = include_str!("../../../tests/fixtures/saltedge/customer_v5.json");
const CONNECT: &str = include_str!("../../../tests/fixtures/saltedge/connect_session.json");
const ERROR: &str = include_str!("../../../tests/fixtures/saltedge/error.json");
const PROVIDER: &str = include_str!("../../../tests/fixtures/saltedge/provider.json");
const CALLBACK: &str = include_str!("../../../tests/fixtures/saltedge/callback_success.json");
const LAST_PAGE: &str = include_str!("../../../tests/fixtures/saltedge/meta_last_page.json");

#[test]
fn parses_documented_accounts_page() {
    let page: Envelope<Vec<Account>> = serde_json::from_str(ACCOUNTS).unwrap();
    assert_eq!(page.data.len(), 2);
    let card = &page.data[0];
    assert_eq!(card.id, "1111111111111111111");
    assert_eq!(card.nature, "card");
    assert_eq!(card.balance, 2007.9);
    assert_eq!(card.currency_code, "EUR");
    assert_eq!(card.extra.iban.as_deref(), Some("DE5555555555555555555555"));
    assert_eq!(card.extra.account_number.as_deref(), Some("123456"));
    assert_eq!(card.extra.transactions_count.as_ref().unwrap().posted, 4);
    assert_eq!(card.extra.other["updated_on_last_attempt"], Value::Bool(true));
    assert_eq!(page.data[1].extra.cards, vec!["1234....5678", "*8765"]);
    assert_eq!(page.meta.next_id.as_deref(), Some("3333333333333333333"));
    assert!(page.meta.next_page.unwrap().contains("from_id=3333333333333333333"));
}

#[test]
fn parses_documented_transactions_page() {
    let page: Envelope<Vec<Transaction>> = serde_json::from_str(TRANSACTIONS).unwrap();
    let tx = &page.data[0];
    assert_eq!(tx.id, "3");
    assert_eq!(tx.account_id.as_deref(), Some("2"));
    assert_eq!(tx.amount, 100.0);
    assert_eq!(tx.status, "posted");
    assert!(!tx.is_pending());
    assert_eq!(tx.made_on_date(), NaiveDate::from_ymd_opt(2018, 4, 1));
    assert_eq!(tx.extra.categorization_confidence, Some(1.0));
    assert_eq!(page.meta, PageMeta::default());
}

#[test]
fn parses_documented_connection() {
    let connection: Connection = serde_json::from_str(CONNECTION).unwrap();
    assert_eq!(connection.id, "1");
    assert_eq!(connection.provider_code, "fakebank_interactive_xf");
    assert_eq!(connection.status, "inactive");
    assert!(connection.needs_user());
    assert_eq!(connection.last_consent_id.as_deref(), Some("6937741"));
    let attempt = connection.last_attempt.as_ref().unwrap();
    assert_eq!(attempt.custom_fields["custom_key"], "custom_value");
    assert!(connection.last_success_at().is_some());
    assert!(connection.next_refresh_possible_at_utc().unwrap() > connection.last_success_at().unwrap());
}

#[test]
fn parses_customers_of_both_versions() {
    let v6: Envelope<Customer> = serde_json::from_str(CUSTOMER_V6).unwrap();
    assert_eq!(v6.data.customer_id, "222222222222222222");
    assert_eq!(v6.data.identifier, "my_unique_identifier");
    let v5: Envelope<Customer> = serde_json::from_str(CUSTOMER_V5).unwrap();
    assert_eq!(v5.data.customer_id, "222222222222222222");
}

#[test]
fn parses_connect_session() {
    let session: Envelope<ConnectSession> = serde_json::from_str(CONNECT).unwrap();
    assert!(session.data.connect_url.starts_with("https://www.saltedge.com/connect"));
    assert!(session.data.expires_at_utc().is_some());
}

#[test]
fn parses_error_envelope() {
    let error: ErrorEnvelope = serde_json::from_str(ERROR).unwrap();
    assert_eq!(error.error.class, "ConnectionNotFound");
    assert!(error.error.message.contains("123"));
    assert_eq!(error.request["connection_id"], "123");
}

#[test]
fn parses_provider() {
    let provider: Provider = serde_json::from_str(PROVIDER).unwrap();
    assert_eq!(provider.code, "fakebank_interactive_xf");
    assert!(provider.interactive && provider.is_fake());
    assert_eq!(provider.refresh_timeout, Some(5));
    assert!(provider.is_interactive());
}

#[test]
fn provider_fields_under_v6_names_win_over_v5() {
    let v6: Provider = serde_json::from_str(
        r#"{"code": "x", "interactive": false, "interactive_for_connections": true,
            "instruction": "old", "instruction_for_connections": "Use your web banking login"}"#,
    )
    .unwrap();
    assert!(v6.is_interactive());
    assert_eq!(v6.instruction_text(), Some("Use your web banking login"));
    let v5: Provider = serde_json::from_str(r#"{"code": "x", "interactive": true, "instruction": "v5 text"}"#).unwrap();
    assert!(v5.is_interactive());
    assert_eq!(v5.instruction_text(), Some("v5 text"));
}

#[test]
fn parses_callback_and_last_page_meta() {
    let callback: CallbackPayload = serde_json::from_str(CALLBACK).unwrap();
    assert_eq!(callback.data.connection_id.as_deref(), Some("111111111111111111"));
    assert_eq!(callback.data.stage.as_deref(), Some("finish"));
    assert_eq!(callback.meta.version.as_deref(), Some("6"));
    let page: Envelope<Vec<Account>> = serde_json::from_str(LAST_PAGE).unwrap();
    assert!(page.data.is_empty() && page.meta.next_id.is_none());
}

#[test]
fn lenient_on_nulls_numbers_and_unknown_fields() {
    let tx: Transaction = serde_json::from_str(
        r#"{"id": 42, "account_id": 7, "description": null, "amount": null,
            "extra": null, "brand_new_field": {"x": 1}}"#,
    )
    .unwrap();
    assert_eq!(tx.id, "42");
    assert_eq!(tx.account_id.as_deref(), Some("7"));
    assert_eq!(tx.description, "");
}
