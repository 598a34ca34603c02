//! Users, API keys and credential checks. Keys and passwords are stored as argon2id hashes. Every
//! `object` call re-checks credentials against the stored user and keys (as Odoo does); to keep that
//! cheap, the stored hash a secret matched is remembered in memory under a SHA-256 of the credentials
//! (never the credentials themselves), so argon2 runs once per secret. A call whose secret was verified
//! while the user's `credential_generation` (bumped by database triggers on every password change and
//! every deleted or altered key, whoever makes it) still has the value read with the user row is accepted
//! without reading the hashes and keys again.
//!
//! Failed checks are counted per client address and login (or uid) in the database (`throttle`), so the
//! bound holds across replicas; web sessions live in the database too (`sessions`).

mod accounts;
pub mod sessions;
pub mod throttle;

pub use accounts::{
    add_api_key, add_user, disable_user, ensure_company, ensure_first_user, revoke_keys, set_password, user_id,
};

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::schema::{api_keys, users};
use crate::db::AnyConnection;
use crate::error::{Error, ErrorKind, Result};
use crate::types::RowGuard;

use throttle::ThrottleKey;

const CACHE_TTL: Duration = Duration::from_secs(600);
const THROTTLE_WINDOW: Duration = Duration::from_secs(throttle::WINDOW_SECS as u64);
const KEY_PREFIX_LEN: usize = 8;
/// The client address of callers inside this machine that are no network client (the CLI, tests).
pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Longest login and secret looked at. Longer ones are refused before any lookup, hashing or throttle
/// bookkeeping: no stored login exceeds 200 characters (`add_user`), an API key has 40 and a password
/// beyond 4 KiB is a payload, not a password.
pub const MAX_LOGIN_BYTES: usize = 256;
pub const MAX_SECRET_BYTES: usize = 4096;
/// Most "failed here lately" hints kept at once (each a 64-byte key and a time): past it, expired ones go
/// first, then the oldest tenth. A spray of distinct logins costs a fixed few hundred KiB.
const MAX_THROTTLE_ENTRIES: usize = 10_000;
/// Most bearer keys whose owner is remembered at once (each 40 bytes).
const MAX_REMEMBERED_BEARERS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: i64,
    pub company_id: i64,
}

/// A secret verified here, while its user's credential generation was `generation` and its company
/// `company_id`; `at`: when last used.
struct Verified {
    generation: i64,
    company_id: i64,
    at: Instant,
}

/// A caller as its secret was last verified here (`Authenticator::remembered_caller`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RememberedCaller {
    pub identity: Identity,
    generation: i64,
}

impl RememberedCaller {
    /// The user row that must still be there, active, with the same company and credential generation,
    /// for this caller to be who it was.
    pub fn user_row(&self) -> RowGuard {
        RowGuard {
            table: "users",
            equal: vec![
                ("id", self.identity.uid),
                ("company_id", self.identity.company_id),
                ("credential_generation", self.generation),
            ],
            true_columns: vec!["active"],
        }
    }
}

/// How far `Authenticator::checked` may go to verify a secret.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verification {
    /// Hash the secret against the stored hashes when it was not verified at the current generation.
    Full,
    /// Only what is remembered: no hashing, no failure counted.
    RememberedOnly,
}

#[derive(Default)]
pub struct Authenticator {
    /// SHA-256 of (uid, secret) → the stored hash it matched, and when it was last used.
    verified: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    /// The same key → the user's credential generation when the secret was last verified.
    current: Mutex<HashMap<[u8; 32], Verified>>,
    /// SHA-256 of a bearer key verified here → its owner's uid (`remembered_bearer`).
    bearer_owners: Mutex<HashMap<[u8; 32], i64>>,
    /// Throttle keys that failed in this process within the window, and when last: a call whose secret
    /// is already verified reads the shared counter (`throttle`) only for these, so the common call costs
    /// no extra statement. Bounded by `MAX_THROTTLE_ENTRIES`.
    failed_here: Mutex<HashMap<ThrottleKey, Instant>>,
    /// Serializes argon2 checks: each takes ~19 MiB, so a burst of them (64 clients at once, or wrong
    /// keys sprayed over many uids) must not run in parallel; it also lets a burst of calls with the same
    /// new secret verify it once.
    argon2_turn: Mutex<()>,
}

fn cache_key(scope: &str, secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// An active user's company and credential generation: the one statement a call's check runs when nothing
/// changed. Not `first()`: its bound `LIMIT ?` makes SQLite re-prepare the cached statement on every call.
fn active_user(conn: &mut AnyConnection, uid: i64) -> Result<Option<(i64, i64)>> {
    Ok(users::table
        .filter(users::id.eq(uid))
        .filter(users::active.eq(true))
        .select((users::company_id, users::credential_generation))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .next())
}

fn stored_password_hash(conn: &mut AnyConnection, uid: i64) -> Result<Option<String>> {
    Ok(users::table
        .filter(users::id.eq(uid))
        .select(users::password_hash)
        .load::<Option<String>>(conn)?
        .into_iter()
        .next()
        .flatten())
}

pub fn hash_secret(secret: &str) -> Result<String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| Error::internal("encoding a salt", std::io::Error::other(e.to_string())))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("hashing a secret", std::io::Error::other(e.to_string())))
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok())
}

/// A new Odoo-style API key: 40 hexadecimal characters (160 random bits).
pub fn generate_api_key() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Authenticator {
    /// `common.authenticate` from `client`: the uid, or `None` for unknown login, wrong secret or too many
    /// failures.
    pub fn authenticate(
        &self,
        conn: &mut AnyConnection,
        login: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<Option<Identity>> {
        Ok(self.authenticate_credential(conn, login, secret, client)?.map(|(identity, _)| identity))
    }

    /// `authenticate`, also returning the stored hash the secret matched (the password's or an API
    /// key's): a web session remembers it, and lives only while that hash stays stored (`sessions`).
    pub fn authenticate_credential(
        &self,
        conn: &mut AnyConnection,
        login: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<Option<(Identity, String)>> {
        if login.len() > MAX_LOGIN_BYTES || secret.len() > MAX_SECRET_BYTES {
            tracing::info!(
                login_bytes = login.len(),
                secret_bytes = secret.len(),
                "login refused: login or secret over {MAX_LOGIN_BYTES} / {MAX_SECRET_BYTES} bytes"
            );
            return Ok(None);
        }
        let key = ThrottleKey::new(client, login);
        let now = throttle::now_secs();
        if throttle::throttled(conn, &key, now)? {
            tracing::warn!(login = %crate::types::log_text::escaped(login), client = %client, "login refused: too many recent failures");
            return Ok(None);
        }
        let user = users::table
            .filter(users::login.eq(login))
            .filter(users::active.eq(true))
            .select((users::id, users::company_id, users::password_hash))
            .first::<(i64, i64, Option<String>)>(conn)
            .optional()?;
        let matched = match user {
            Some((uid, company_id, password_hash)) => self
                .matching_hash(conn, uid, password_hash.as_deref(), secret, &key)?
                .map(|hash| (Identity { uid, company_id }, hash)),
            None => {
                throttle::reserve(conn, &key, now)?;
                None
            }
        };
        if matched.is_none() {
            self.note_failure(key);
        }
        Ok(matched)
    }

    /// The per-call check of a bearer API key (`/json/2`, Odoo 19's `auth='bearer'`): the identity of the
    /// active user owning the key, or `None`. Only API keys pass, never a password, as in Odoo. The key is
    /// found by its prefix among every user's keys; as for `check`, argon2 runs once per key, and a key
    /// verified at the user's current credential generation is accepted on one statement, so deleting the
    /// key (`user revoke`) or disabling the user takes effect on the next call.
    ///
    /// Wrong keys are counted per client address and uid (`throttle`), as for `check`.
    pub fn check_bearer(&self, conn: &mut AnyConnection, key: &str, client: IpAddr) -> Result<Option<Identity>> {
        self.bearer_checked(conn, key, client, Verification::Full)
    }

    /// `check_bearer` for a caller that must not spend a hash's time (an HTTP worker): the identity when
    /// the key was verified at its user's current credential generation, `None` for anything else (not
    /// verified yet, refused, throttled), which `check_bearer` then decides. It counts no failure itself.
    pub fn check_bearer_remembered(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        client: IpAddr,
    ) -> Result<Option<Identity>> {
        self.bearer_checked(conn, key, client, Verification::RememberedOnly)
    }

    fn bearer_checked(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        client: IpAddr,
        mode: Verification,
    ) -> Result<Option<Identity>> {
        if key.len() < KEY_PREFIX_LEN || key.len() > MAX_SECRET_BYTES || !key.is_char_boundary(KEY_PREFIX_LEN) {
            return Ok(None);
        }
        let owners: Vec<(i64, i64, i64, String)> = api_keys::table
            .inner_join(users::table)
            .filter(api_keys::key_prefix.eq(&key[..KEY_PREFIX_LEN]))
            .filter(users::active.eq(true))
            .select((users::id, users::company_id, users::credential_generation, api_keys::key_hash))
            .load(conn)?;
        let mut uids: Vec<i64> = owners.iter().map(|(uid, ..)| *uid).collect();
        uids.sort_unstable();
        uids.dedup();
        for uid in uids {
            let throttle_key = ThrottleKey::new(client, &format!("uid:{uid}"));
            if self.failed_here_lately(&throttle_key) && throttle::throttled(conn, &throttle_key, throttle::now_secs())?
            {
                // Only the full check may pass a throttled uid over for the next owner of the prefix.
                if mode == Verification::RememberedOnly {
                    return Ok(None);
                }
                continue;
            }
            let mine = owners.iter().filter(|(owner, ..)| *owner == uid);
            let (company_id, generation) = mine.clone().map(|(_, c, g, _)| (*c, *g)).next().unwrap_or_default();
            let remembered = cache_key(&format!("bearer:{uid}"), key);
            if self.verified_at(&remembered, generation, company_id) {
                self.remember_bearer_owner(key, uid);
                return Ok(Some(Identity { uid, company_id }));
            }
            // Not remembered for this owner: the full check hashes, in the same order of owners.
            if mode == Verification::RememberedOnly {
                return Ok(None);
            }
            let hashes: Vec<String> = mine.map(|(.., hash)| hash.clone()).collect();
            if self.matching_among(conn, uid, &hashes, key, &throttle_key)?.is_some() {
                self.remember_generation(remembered, generation, company_id);
                self.remember_bearer_owner(key, uid);
                return Ok(Some(Identity { uid, company_id }));
            }
            self.note_failure(throttle_key);
        }
        Ok(None)
    }

    /// The per-call check of `object`: the user's identity, or Access Denied. The user row is read every
    /// time, so disabling a user takes effect on the next call; its credential generation tells whether a
    /// password change or a deleted key happened since the secret was last verified, and then the stored
    /// hashes and keys are read again.
    pub fn check(&self, conn: &mut AnyConnection, uid: i64, secret: &str, client: IpAddr) -> Result<Identity> {
        self.checked(conn, uid, secret, client, Verification::Full)?.ok_or_else(Error::access_denied)
    }

    /// `check` for a caller that must not spend a hash's time (an HTTP worker): the identity when the
    /// secret was verified at the user's current credential generation, `None` for anything else (not
    /// verified yet, refused, throttled), which `check` then decides. It counts no failure itself, so a
    /// refused call that goes on to `check` is counted once.
    pub fn check_remembered(
        &self,
        conn: &mut AnyConnection,
        uid: i64,
        secret: &str,
        client: IpAddr,
    ) -> Result<Option<Identity>> {
        match self.checked(conn, uid, secret, client, Verification::RememberedOnly) {
            Err(e) if e.kind() == ErrorKind::AccessDenied => Ok(None),
            other => other,
        }
    }

    fn checked(
        &self,
        conn: &mut AnyConnection,
        uid: i64,
        secret: &str,
        client: IpAddr,
        mode: Verification,
    ) -> Result<Option<Identity>> {
        if secret.len() > MAX_SECRET_BYTES {
            return Err(Error::access_denied());
        }
        let throttle_key = ThrottleKey::new(client, &format!("uid:{uid}"));
        // Only a key that failed here lately costs a read of the shared counter on this path; a guess that
        // is not verified yet is counted in it below, before any hashing, on every replica.
        if self.failed_here_lately(&throttle_key) && throttle::throttled(conn, &throttle_key, throttle::now_secs())? {
            return Err(Error::access_denied());
        }
        let Some((company_id, generation)) = active_user(conn, uid)? else {
            if mode == Verification::Full {
                throttle::reserve(conn, &throttle_key, throttle::now_secs())?;
                self.note_failure(throttle_key);
            }
            return Err(Error::access_denied());
        };
        let key = cache_key(&uid.to_string(), secret);
        if !secret.is_empty() && self.verified_at(&key, generation, company_id) {
            return Ok(Some(Identity { uid, company_id }));
        }
        if mode == Verification::RememberedOnly {
            return Ok(None);
        }
        let password_hash = stored_password_hash(conn, uid)?;
        if self.matching_hash(conn, uid, password_hash.as_deref(), secret, &throttle_key)?.is_some() {
            self.remember_generation(key, generation, company_id);
            Ok(Some(Identity { uid, company_id }))
        } else {
            self.note_failure(throttle_key);
            Err(Error::access_denied())
        }
    }

    /// Whether the secret under `key` was verified while the user's credential generation was `generation`
    /// (the user's `company_id` as read now is remembered with it).
    fn verified_at(&self, key: &[u8; 32], generation: i64, company_id: i64) -> bool {
        let mut map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(seen) if seen.generation == generation && seen.at.elapsed() < CACHE_TTL => {
                seen.at = Instant::now();
                seen.company_id = company_id;
                true
            }
            Some(_) => {
                map.remove(key);
                false
            }
            None => false,
        }
    }

    fn remember_generation(&self, key: [u8; 32], generation: i64, company_id: i64) {
        let mut map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, seen| seen.at.elapsed() < CACHE_TTL);
        }
        map.insert(key, Verified { generation, company_id, at: Instant::now() });
    }

    fn remember_bearer_owner(&self, key: &str, uid: i64) {
        let mut owners = self.bearer_owners.lock().unwrap_or_else(|p| p.into_inner());
        if owners.len() >= MAX_REMEMBERED_BEARERS {
            // Only a hint: a key not found here is checked in full (and remembered again).
            owners.clear();
        }
        owners.insert(cache_key("bearer", key), uid);
    }

    /// The caller `uid` with `secret` as it was last verified here, from memory alone (no statement):
    /// `None` when it was not verified lately, or its key failed here lately (then the full check counts).
    /// A read may take it on trust only while checking, in its own statement, that the user row still
    /// says so (`RememberedCaller::user_row`); otherwise `check` decides.
    pub fn remembered_caller(&self, uid: i64, secret: &str, client: IpAddr) -> Option<RememberedCaller> {
        if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
            return None;
        }
        self.remembered_at(uid, cache_key(&uid.to_string(), secret), client)
    }

    /// `remembered_caller` for JSON-2's bearer key: its owner as the key was last verified here.
    pub fn remembered_bearer(&self, key: &str, client: IpAddr) -> Option<RememberedCaller> {
        if key.is_empty() || key.len() > MAX_SECRET_BYTES {
            return None;
        }
        let owners = self.bearer_owners.lock().unwrap_or_else(|p| p.into_inner());
        let uid = *owners.get(&cache_key("bearer", key))?;
        drop(owners);
        self.remembered_at(uid, cache_key(&format!("bearer:{uid}"), key), client)
    }

    fn remembered_at(&self, uid: i64, key: [u8; 32], client: IpAddr) -> Option<RememberedCaller> {
        if self.failed_here_lately(&ThrottleKey::new(client, &format!("uid:{uid}"))) {
            return None;
        }
        let mut map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let seen = map.get_mut(&key).filter(|seen| seen.at.elapsed() < CACHE_TTL)?;
        seen.at = Instant::now();
        Some(RememberedCaller { identity: Identity { uid, company_id: seen.company_id }, generation: seen.generation })
    }

    /// The stored hash of the user's API key or password that `secret` matches, if any. It is
    /// remembered, so the slow argon2 check runs once per secret while that hash stays stored.
    fn matching_hash(
        &self,
        conn: &mut AnyConnection,
        uid: i64,
        password_hash: Option<&str>,
        secret: &str,
        throttle_key: &ThrottleKey,
    ) -> Result<Option<String>> {
        if secret.is_empty() {
            throttle::reserve(conn, throttle_key, throttle::now_secs())?;
            return Ok(None);
        }
        let mut candidates: Vec<String> = Vec::new();
        if secret.len() >= KEY_PREFIX_LEN && secret.is_char_boundary(KEY_PREFIX_LEN) {
            candidates = api_keys::table
                .filter(api_keys::user_id.eq(uid))
                .filter(api_keys::key_prefix.eq(&secret[..KEY_PREFIX_LEN]))
                .select(api_keys::key_hash)
                .load(conn)?;
        }
        candidates.extend(password_hash.map(str::to_string));
        self.matching_among(conn, uid, &candidates, secret, throttle_key)
    }

    /// The hash among `candidates` (stored hashes of user `uid`) that `secret` matches, remembered. A
    /// secret not remembered takes a place in `throttle_key`'s shared count before it is hashed (refused
    /// unhashed when the count is full) and gives it back when it matched.
    fn matching_among(
        &self,
        conn: &mut AnyConnection,
        uid: i64,
        candidates: &[String],
        secret: &str,
        throttle_key: &ThrottleKey,
    ) -> Result<Option<String>> {
        let key = cache_key(&uid.to_string(), secret);
        if let Some(hash) = self.cached(&key).filter(|hash| candidates.contains(hash)) {
            return Ok(Some(hash));
        }
        if !throttle::reserve(conn, throttle_key, throttle::now_secs())? {
            return Ok(None);
        }
        let matched = {
            let _turn = self.argon2_turn.lock().unwrap_or_else(|p| p.into_inner());
            // Another call may have verified the same secret while this one waited.
            match self.cached(&key).filter(|hash| candidates.contains(hash)) {
                Some(hash) => Some(hash),
                None => candidates.iter().find(|hash| verify_secret(secret, hash)).cloned(),
            }
        };
        if let Some(hash) = &matched {
            self.remember(key, hash.clone());
            throttle::release(conn, throttle_key)?;
        }
        Ok(matched)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<String> {
        let mut map = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            // Sliding expiry: a secret in use stays verified; idle ones are forgotten.
            Some((hash, at)) if at.elapsed() < CACHE_TTL => {
                *at = Instant::now();
                Some(hash.clone())
            }
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: [u8; 32], hash: String) {
        let mut map = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        map.insert(key, (hash, Instant::now()));
    }

    fn failed_here_lately(&self, key: &ThrottleKey) -> bool {
        let map = self.failed_here.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).is_some_and(|at| at.elapsed() < THROTTLE_WINDOW)
    }

    /// Remembers that `key` failed here, so this process's calls with remembered secrets consult the
    /// shared count for it (the count itself was taken by `throttle::reserve`).
    fn note_failure(&self, key: ThrottleKey) {
        let mut map = self.failed_here.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(&key) && map.len() >= MAX_THROTTLE_ENTRIES {
            map.retain(|_, at| at.elapsed() < THROTTLE_WINDOW);
            if map.len() >= MAX_THROTTLE_ENTRIES {
                // Still full of live hints (a spray of distinct logins): forget the oldest tenth in one pass,
                // so the cost is paid once per thousand new logins, not on each.
                let mut times: Vec<Instant> = map.values().copied().collect();
                let (_, cutoff, _) = times.select_nth_unstable(MAX_THROTTLE_ENTRIES / 10);
                let cutoff = *cutoff;
                map.retain(|_, at| *at > cutoff);
            }
        }
        map.insert(key, Instant::now());
    }

    /// How many "failed here lately" hints are kept (for tests of the bound).
    pub fn throttle_entries(&self) -> usize {
        self.failed_here.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_hints_stay_bounded_and_keep_the_newest() {
        let auth = Authenticator::default();
        let key = |i: usize| ThrottleKey::new(LOCAL, &format!("sprayed-login-{i}"));
        for i in 0..(MAX_THROTTLE_ENTRIES * 2 + 500) {
            auth.note_failure(key(i));
        }
        assert!(auth.throttle_entries() <= MAX_THROTTLE_ENTRIES, "{}", auth.throttle_entries());
        // The newest hints survive the spray: a login failing now is still looked up.
        let target = ThrottleKey::new(LOCAL, "target");
        auth.note_failure(target.clone());
        assert!(auth.failed_here_lately(&target));
        assert!(!auth.failed_here_lately(&key(0)));
    }
}
