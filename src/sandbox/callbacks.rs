//! Signed callbacks, POSTed like Salt Edge does: JSON `{data, meta: {version, time}}` with a
//! `Signature` header = base64 RSA-SHA256 of `"{callback_url}|{body}"`.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

use super::Shared;
use crate::saltedge::signing::callback_string_to_sign;

pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// One callback to send: its type (`success`, `fail`, `notify`, `destroy`) and `data`.
#[derive(Debug, Clone)]
pub struct Callback {
    pub kind: &'static str,
    pub data: Value,
}

impl Callback {
    pub fn new(kind: &'static str, connection_id: Option<u64>, customer_id: u64, custom_fields: &Value) -> Callback {
        let custom_fields = if custom_fields.is_object() { custom_fields.clone() } else { json!({}) };
        Callback {
            kind,
            data: json!({
                "connection_id": connection_id.map(|id| id.to_string()),
                "customer_id": customer_id.to_string(),
                "custom_fields": custom_fields,
            }),
        }
    }

    pub fn stage(mut self, stage: &str) -> Callback {
        self.data["stage"] = json!(stage);
        self
    }

    pub fn error(mut self, class: &str, message: &str) -> Callback {
        self.data["error_class"] = json!(class);
        self.data["error_message"] = json!(message);
        self
    }
}

/// Sends the callbacks in order. Best effort: failures are logged, never raised.
pub async fn send_all(shared: &Shared, callbacks: Vec<Callback>) {
    let Some(base) = shared.cfg.callback_base_url.as_ref() else {
        return;
    };
    let base = base.as_str().trim_end_matches('/').to_string();
    for callback in callbacks {
        let url = format!("{base}/saltedge/callbacks/{}", callback.kind);
        let body = json!({
            "data": callback.data,
            "meta": {
                "version": "6",
                "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            },
        });
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(target: "sandbox", error = %e, "cannot encode callback");
                continue;
            }
        };
        let signature = match shared.signer.sign_base64(&callback_string_to_sign(&url, &body)) {
            Ok(signature) => signature,
            Err(e) => {
                tracing::warn!(target: "sandbox", error = %e, "cannot sign callback");
                continue;
            }
        };
        let result = shared
            .callback_http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Signature", signature)
            .header("Signature-key-version", "6.0")
            .body(body)
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(target: "sandbox", kind = callback.kind, "callback delivered");
            }
            Ok(response) => tracing::warn!(
                target: "sandbox", kind = callback.kind, status = response.status().as_u16(),
                "callback refused"
            ),
            Err(e) => tracing::warn!(
                target: "sandbox", kind = callback.kind, error = %e.without_url(),
                "callback not delivered"
            ),
        }
    }
}

/// Sends callbacks without making the caller wait.
pub fn spawn_all(shared: actix_web::web::Data<Shared>, callbacks: Vec<Callback>) {
    if callbacks.is_empty() || shared.cfg.callback_base_url.is_none() {
        return;
    }
    tokio::spawn(async move { send_all(&shared, callbacks).await });
}
