//! How the bridge reaches its bank aggregator (Salt Edge, or the built-in sandbox) and how the aggregator
//! and the user's browser come back: the client, the callback key, the bridge's public URL, the Odoo
//! URLs a browser may be sent back to, how attempts are followed, and the attempts this process follows.
//!
//! Start-up builds it; `App` holds it, typed; the sync engine uses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::saltedge;

/// Salt Edge's published callback public key (`spectre_public.pem` in Salt Edge's public
/// `saltedge-examples` repository, the key third-party v5/v6 clients verify callbacks with). Used when
/// no `--saltedge-callback-key` file is given.
pub const SALTEDGE_CALLBACK_PUBLIC_KEY: &str = include_str!("saltedge/callback_public.pem");

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
    /// `sync::return_url::allowed_return_to`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_callback_key_is_salt_edge_published_key() {
        assert!(SALTEDGE_CALLBACK_PUBLIC_KEY.contains("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvL/Xxdmj7/cpZgvD"));
        assert_ne!(SALTEDGE_CALLBACK_PUBLIC_KEY.trim(), crate::sandbox::SANDBOX_PUBLIC_KEY_PEM.trim());
    }
}
