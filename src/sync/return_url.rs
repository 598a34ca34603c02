//! An attempt's return URL: the one-time `state` that alone identifies it (256 random bits, only its hash
//! stored), and where the browser may be sent back afterwards (`return_to`, allow-listed).

use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::{Error, Result};
use crate::sync::store::{self, ReturnState};

/// How long a return URL's `state` stays usable: Salt Edge's connect URL lives about an hour, as does an
/// Enable Banking authorization at the bank.
pub const RETURN_STATE_LIFETIME_MINUTES: i64 = 90;

fn hash_state(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues the one-time `state` of an attempt's return URL (256 random bits; only its hash is stored).
pub async fn issue_return_state(app: &Arc<App>, state: ReturnState) -> Result<String> {
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = hash_state(&token);
    app.db(move |conn, _| {
        store::return_states::save(conn, &hash, &state, chrono::Duration::minutes(RETURN_STATE_LIFETIME_MINUTES))
    })
    .await?;
    Ok(token)
}

/// Binds an issued `state` to what the aggregator knows the attempt's authorization by.
pub async fn bind_return_state(app: &Arc<App>, token: &str, authorization_ref: &str) -> Result<()> {
    let (hash, reference) = (hash_state(token), authorization_ref.to_string());
    app.db(move |conn, _| store::return_states::set_authorization_ref(conn, &hash, &reference)).await
}

/// Uses a `state` from a return URL once; `None` when it is unknown, expired or used.
pub async fn use_return_state(app: &Arc<App>, token: &str) -> Result<Option<ReturnState>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let hash = hash_state(token);
    app.db(move |conn, _| store::return_states::use_once(conn, &hash)).await
}

fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// Where the browser may be sent back after the aggregator's page. Only http(s) URLs, and only into an
/// Odoo the company uses: one of `--odoo-url` when configured, else the origin of the company's first
/// `return_to` (recorded then, and every later one must share it). Anything else is refused.
pub async fn allowed_return_to(app: &Arc<App>, company_id: i64, url: Option<&str>) -> Result<Option<String>> {
    let Some(raw) = url.map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
    let parsed = match url::Url::parse(raw) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => parsed,
        _ => return Err(Error::user("return_to must be an http(s) URL.")),
    };
    if parsed.username() != "" || parsed.password().is_some() {
        return Err(Error::user("return_to must not carry credentials."));
    }
    let origin = origin_of(&parsed);
    let configured = app.odoo_urls();
    if !configured.is_empty() {
        return if configured.iter().any(|allowed| origin_of(allowed) == origin) {
            Ok(Some(parsed.to_string()))
        } else {
            Err(Error::user(format!(
                "return_to must point into the Odoo this bridge serves ({}).",
                configured.iter().map(origin_of).collect::<Vec<_>>().join(", ")
            )))
        };
    }
    let key = format!("company.{company_id}.odoo_origin");
    let wanted = origin.clone();
    let known = app
        .db(move |conn, _| match store::settings::get(conn, &key)? {
            Some(known) => Ok(known),
            None => {
                store::settings::set(conn, &key, &wanted)?;
                Ok(wanted)
            }
        })
        .await?;
    if known == origin {
        Ok(Some(parsed.to_string()))
    } else {
        Err(Error::user(format!(
            "return_to must point into this company's Odoo ({known}); set BANKBRIDGE_ODOO_URLS on the bridge to allow another one."
        )))
    }
}
