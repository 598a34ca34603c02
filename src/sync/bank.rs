//! How the bridge reaches Salt Edge and how Salt Edge (and the user's browser) come back: the client,
//! the callback key, the bridge's public URL, the return URL's one-time `state`, the `return_to`
//! allow-list, each company's own Salt Edge customer, and the attempts this process is following.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::app::App;
use crate::error::{Error, Result};
use crate::saltedge;
use crate::sync::store::{self, ReturnState};

/// Salt Edge's published callback public key (`spectre_public.pem` in Salt Edge's public
/// `saltedge-examples` repository, the key third-party v5/v6 clients verify callbacks with). Used when
/// no `--saltedge-callback-key` file is given.
pub const SALTEDGE_CALLBACK_PUBLIC_KEY: &str = include_str!("saltedge_callback_public.pem");

/// How long a return URL's `state` stays usable: Salt Edge's connect URL lives about an hour.
pub const RETURN_STATE_LIFETIME_MINUTES: i64 = 90;

/// How the bridge reaches Salt Edge (or the sandbox) and how Salt Edge reaches it back.
pub struct Bank {
    pub client: saltedge::Client,
    /// Verifies callback signatures; `None` refuses every callback.
    pub callback_public_key: Option<String>,
    /// The bridge's own base URL as Salt Edge and browsers reach it (return URLs, callbacks).
    pub public_url: String,
    /// List and offer Salt Edge's fake providers (country XF): Test-status clients, the sandbox.
    pub include_sandboxes: bool,
    /// Odoo base URLs a `return_to` may point into; empty: each company's first one (see
    /// [`allowed_return_to`]).
    pub odoo_urls: Vec<url::Url>,
    /// How long an attempt is followed (polled) before the bridge gives up on it.
    pub attempt_timeout: Duration,
    /// First wait between two polls of an attempt; it doubles up to [`MAX_POLL_INTERVAL`].
    pub poll_interval: Duration,
    /// Attempts this process follows, by link: a callback wakes the follower instead of racing it.
    followers: Mutex<HashMap<i64, Arc<Notify>>>,
}

/// Longest wait between two polls of a running attempt.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);

impl Bank {
    pub fn new(client: saltedge::Client, public_url: String) -> Bank {
        Bank {
            client,
            callback_public_key: Some(SALTEDGE_CALLBACK_PUBLIC_KEY.to_string()),
            public_url,
            include_sandboxes: false,
            odoo_urls: Vec::new(),
            attempt_timeout: Duration::from_secs(15 * 60),
            poll_interval: Duration::from_millis(500),
            followers: Mutex::new(HashMap::new()),
        }
    }

    /// The return URL of one attempt: only the one-time `state` identifies it.
    pub fn return_url(&self, state: &str) -> String {
        format!("{}/saltedge/return?state={state}", self.public_url.trim_end_matches('/'))
    }

    pub fn callback_url(&self, kind: &str) -> String {
        format!("{}/saltedge/callbacks/{kind}", self.public_url.trim_end_matches('/'))
    }

    /// Registers this process as the follower of `link_id`'s attempt; `None` when one already runs.
    pub fn start_following(self: &Arc<Self>, link_id: i64) -> Option<FollowGuard> {
        let mut followers = self.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if followers.contains_key(&link_id) {
            return None;
        }
        let notify = Arc::new(Notify::new());
        followers.insert(link_id, Arc::clone(&notify));
        Some(FollowGuard { bank: Arc::clone(self), link_id, notify })
    }

    pub fn is_following(&self, link_id: i64) -> bool {
        self.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(&link_id)
    }

    /// Wakes the follower of `link_id` (a callback said its attempt moved); false when none runs here.
    pub fn wake_follower(&self, link_id: i64) -> bool {
        match self.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&link_id) {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Held while an attempt is followed; dropping it (done, failed, panicked) frees the link.
pub struct FollowGuard {
    bank: Arc<Bank>,
    link_id: i64,
    pub notify: Arc<Notify>,
}

impl Drop for FollowGuard {
    fn drop(&mut self) {
        self.bank.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&self.link_id);
    }
}

const NOT_CONFIGURED: &str = "Salt Edge is not configured on this bridge (start it with `bankbridge serve`, which runs the sandbox when no Salt Edge credentials are set).";

pub fn bank(app: &App) -> Result<&Bank> {
    app.bank::<Bank>().ok_or_else(|| Error::user(NOT_CONFIGURED))
}

/// The bank, shared (for work that outlives the borrow of `App`, like a follower).
pub fn shared_bank(app: &App) -> Result<Arc<Bank>> {
    app.shared_bank::<Bank>().ok_or_else(|| Error::user(NOT_CONFIGURED))
}

/// The Salt Edge customer identifier of a company: one customer per company of this bridge's
/// database, never shared and never derived from an e-mail (the e-mail is only the renewal contact).
/// `installation` (random, stored once per database) keeps two databases that use the same Salt Edge
/// app (a staging copy, a second bridge) from sharing customers even with equal names and ids.
pub fn customer_identifier(db_name: &str, installation: &str, company_id: i64) -> String {
    format!("bankbridge-{db_name}-{installation}-company-{company_id}")
}

const INSTALLATION_SETTING: &str = "saltedge.installation_id";

/// This database's installation id, created on first use.
fn installation_id(conn: &mut crate::db::AnyConnection) -> Result<String> {
    if let Some(known) = store::settings::get(conn, INSTALLATION_SETTING)? {
        return Ok(known);
    }
    let fresh = hex::encode(rand::random::<[u8; 6]>());
    store::settings::insert_if_absent(conn, INSTALLATION_SETTING, &fresh)?;
    store::settings::get(conn, INSTALLATION_SETTING)?
        .ok_or_else(|| Error::application("The bridge's installation id could not be recorded."))
}

/// The company's own Salt Edge customer id: stored once found or created.
pub async fn company_customer(app: &Arc<App>, company_id: i64) -> Result<String> {
    if let Some(known) = app.db(move |conn, _| store::customers::of_company(conn, company_id)).await? {
        return Ok(known);
    }
    let installation = app.db(|conn, _| installation_id(conn)).await?;
    let identifier = customer_identifier(&app.db_name, &installation, company_id);
    let customer = bank(app)?
        .client
        .get_or_create_customer(&identifier)
        .await
        .map_err(|e| crate::sync::errors::user_error(None, &e))?;
    let id = customer.customer_id;
    if id.is_empty() {
        return Err(Error::application("Salt Edge answered a customer without an id."));
    }
    app.db(move |conn, _| store::customers::save(conn, company_id, &id, &identifier)).await
}

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

/// Where the browser may be sent back after Salt Edge's page. Only http(s) URLs, and only into an
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
    let configured = &bank(app)?.odoo_urls;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_identifiers_differ_per_company_and_database() {
        assert_eq!(customer_identifier("bankbridge", "0a1b", 1), "bankbridge-bankbridge-0a1b-company-1");
        assert_ne!(customer_identifier("bankbridge", "0a1b", 1), customer_identifier("bankbridge", "0a1b", 2));
        assert_ne!(customer_identifier("a", "0a1b", 1), customer_identifier("b", "0a1b", 1));
        assert_ne!(customer_identifier("a", "0a1b", 1), customer_identifier("a", "ffff", 1));
    }

    #[test]
    fn default_callback_key_is_salt_edge_published_key() {
        assert!(SALTEDGE_CALLBACK_PUBLIC_KEY.contains("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvL/Xxdmj7/cpZgvD"));
        assert_ne!(SALTEDGE_CALLBACK_PUBLIC_KEY.trim(), crate::sandbox::SANDBOX_PUBLIC_KEY_PEM.trim());
    }
}
