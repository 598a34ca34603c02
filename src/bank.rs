//! How the bridge reaches its bank aggregators and how they and the user's browser come back.
//!
//! * [`Bank`] — Salt Edge (or its built-in sandbox): the client, the callback key, how attempts are
//!   followed;
//! * [`EnableBanking`] — Enable Banking (or its built-in sandbox): the client and the redirect URL the
//!   application registered;
//! * [`Banks`] — the aggregators configured together, the bridge's public URL and the Odoo URLs a browser
//!   may be sent back to;
//! * [`Followers`] — the links whose synchronization this process runs (one at a time per link);
//! * [`worker`] — this process's name among the replicas, which its leases on links are held under.
//!
//! Start-up builds them; `App` holds them, typed; the sync engine uses them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::enablebanking::{self, PsuType};
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
    /// How long an attempt is followed (polled) before the bridge gives up on it.
    pub attempt_timeout: Duration,
    /// First wait between two polls of an attempt; it doubles up to [`MAX_POLL_INTERVAL`].
    pub poll_interval: Duration,
    /// Attempts this process follows, by link: a callback wakes the follower instead of racing it.
    followers: Arc<Followers>,
}

/// This process among the replicas on the database (process id and a random number): the name its leases
/// on links (the scheduler's, the follower's) are held under.
pub fn worker() -> &'static str {
    static WORKER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    WORKER.get_or_init(|| format!("{}-{}", std::process::id(), rand::random::<u32>()))
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
            attempt_timeout: Duration::from_secs(15 * 60),
            poll_interval: Duration::from_millis(500),
            followers: Arc::default(),
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
    pub fn start_following(&self, link_id: i64) -> Option<FollowGuard> {
        self.followers.start(link_id)
    }

    pub fn is_following(&self, link_id: i64) -> bool {
        self.followers.is_following(link_id)
    }

    /// Wakes the follower of `link_id` (a callback said its attempt moved); false when none runs here.
    pub fn wake_follower(&self, link_id: i64) -> bool {
        self.followers.wake(link_id)
    }
}

/// The links whose synchronization runs in this process, each with a way to wake its runner.
#[derive(Default)]
pub struct Followers {
    running: Mutex<HashMap<i64, Arc<Notify>>>,
}

impl Followers {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Notify>>> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers this process as the runner of `link_id`'s synchronization; `None` when one already runs.
    pub fn start(self: &Arc<Self>, link_id: i64) -> Option<FollowGuard> {
        let mut running = self.running();
        if running.contains_key(&link_id) {
            return None;
        }
        let notify = Arc::new(Notify::new());
        running.insert(link_id, Arc::clone(&notify));
        Some(FollowGuard { followers: Arc::clone(self), link_id, notify })
    }

    pub fn is_following(&self, link_id: i64) -> bool {
        self.running().contains_key(&link_id)
    }

    pub fn wake(&self, link_id: i64) -> bool {
        match self.running().get(&link_id) {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Held while a link's synchronization runs; dropping it (done, failed, panicked) frees the link.
pub struct FollowGuard {
    followers: Arc<Followers>,
    link_id: i64,
    pub notify: Arc<Notify>,
}

impl Drop for FollowGuard {
    fn drop(&mut self) {
        self.followers.running().remove(&self.link_id);
    }
}

/// How the bridge reaches Enable Banking (or its built-in sandbox) and where the browser comes back.
pub struct EnableBanking {
    pub client: enablebanking::Client,
    /// The bridge's own base URL as browsers reach it: the redirect URL is under it.
    pub public_url: String,
    /// Whose accounts a consent asks for when the bank serves both kinds of user: companies link
    /// business accounts (a bank serving only personal users gets `personal`).
    pub psu_type: PsuType,
    /// The links this process is reading.
    followers: Arc<Followers>,
}

impl EnableBanking {
    pub fn new(client: enablebanking::Client, public_url: String) -> EnableBanking {
        EnableBanking { client, public_url, psu_type: PsuType::Business, followers: Arc::default() }
    }

    /// Where the bank sends the browser back (`redirect_url`): the URL the application registers at
    /// Enable Banking, the same for every attempt (the one-time `state` travels beside it).
    pub fn redirect_url(&self) -> String {
        Self::redirect_url_of(&self.public_url)
    }

    pub fn redirect_url_of(public_url: &str) -> String {
        format!("{}/enablebanking/return", public_url.trim_end_matches('/'))
    }

    /// Registers this process as the reader of `link_id`; `None` when a read of it already runs here.
    pub fn start_reading(&self, link_id: i64) -> Option<FollowGuard> {
        self.followers.start(link_id)
    }

    pub fn is_reading(&self, link_id: i64) -> bool {
        self.followers.is_following(link_id)
    }
}

/// The aggregators a bridge is configured for (any of them may be absent: a command that talks to none,
/// a bridge with Enable Banking only), and what they share.
#[derive(Default)]
pub struct Banks {
    pub saltedge: Option<Bank>,
    pub enablebanking: Option<EnableBanking>,
    /// Odoo base URLs a `return_to` may point into; empty: each company's first one (see
    /// `sync::return_url::allowed_return_to`).
    pub odoo_urls: Vec<url::Url>,
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
