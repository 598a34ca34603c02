//! Web sessions (`/web/session/authenticate`, then `/web/dataset/*` with the `session_id` cookie), stored
//! in the database like Odoo keeps its sessions outside the process: every replica on the database knows
//! every session, and a restart logs nobody out. Only a SHA-256 of the session id is stored.
//!
//! A session lives `SESSION_TTL_SECS` from its login, while its user stays active and the credential it
//! logged in with (the stored hash of the password or API key) stays stored: `user disable`, `user revoke`
//! and `user passwd` end it on its next call, on every replica.

use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::{stored_password_hash, Authenticator, Identity};
use crate::db::schema::{api_keys, users, web_sessions};
use crate::db::AnyConnection;
use crate::error::Result;

/// How long a session lasts after its login (Odoo's default session lifetime is a week too).
pub const SESSION_TTL_SECS: i64 = 7 * 24 * 3600;
/// A session id is 24 random bytes in hexadecimal.
const SID_BYTES: usize = 24;

/// A live session, as a call sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub identity: Identity,
    pub login: String,
}

fn sid_hash(sid: &str) -> String {
    hex::encode(Sha256::digest(sid.as_bytes()))
}

fn well_formed(sid: &str) -> bool {
    sid.len() == SID_BYTES * 2 && sid.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Opens a session for a user who just logged in with the credential stored as `credential_hash`;
/// returns its id (for the cookie; never stored). Expired sessions are swept on the way.
pub fn open(conn: &mut AnyConnection, identity: Identity, login: &str, credential_hash: &str) -> Result<String> {
    let mut bytes = [0u8; SID_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let sid = hex::encode(bytes);
    let now = chrono::Utc::now().timestamp();
    diesel::delete(web_sessions::table.filter(web_sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(web_sessions::table)
        .values((
            web_sessions::sid_hash.eq(sid_hash(&sid)),
            web_sessions::user_id.eq(identity.uid),
            web_sessions::login.eq(login),
            web_sessions::credential_hash.eq(credential_hash),
            web_sessions::created_at.eq(now),
            web_sessions::expires_at.eq(now + SESSION_TTL_SECS),
        ))
        .execute(conn)?;
    Ok(sid)
}

/// Ends a session (`/web/session/destroy`); an unknown id is no error.
pub fn close(conn: &mut AnyConnection, sid: &str) -> Result<()> {
    if well_formed(sid) {
        diesel::delete(web_sessions::table.filter(web_sessions::sid_hash.eq(sid_hash(sid)))).execute(conn)?;
    }
    Ok(())
}

/// Sessions stored (for tests and the operator's curiosity).
pub fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(web_sessions::table.count().get_result(conn)?)
}

impl Authenticator {
    /// The live session of `sid`, checked against the user's current state, or `None` (unknown, expired,
    /// user disabled, credential gone: the session is then deleted).
    ///
    /// Like `check` for XML-RPC, one statement when nothing changed: the session joined to its active user
    /// with the user's credential generation; the stored hashes are read again only when it moved.
    pub fn session(&self, conn: &mut AnyConnection, sid: &str) -> Result<Option<Session>> {
        if !well_formed(sid) {
            return Ok(None);
        }
        let hash = sid_hash(sid);
        let now = chrono::Utc::now().timestamp();
        let Some((uid, login, credential_hash, company_id, generation)) = web_sessions::table
            .inner_join(users::table)
            .filter(web_sessions::sid_hash.eq(&hash))
            .filter(web_sessions::expires_at.gt(now))
            .filter(users::active.eq(true))
            .select((
                web_sessions::user_id,
                web_sessions::login,
                web_sessions::credential_hash,
                users::company_id,
                users::credential_generation,
            ))
            .load::<(i64, String, String, i64, i64)>(conn)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let identity = Identity { uid, company_id };
        let key = super::cache_key(&format!("session:{uid}"), &credential_hash);
        if self.verified_at(&key, generation, company_id) {
            return Ok(Some(Session { identity, login }));
        }
        let still_stored = stored_password_hash(conn, uid)?.as_deref() == Some(credential_hash.as_str())
            || api_keys::table
                .filter(api_keys::user_id.eq(uid))
                .filter(api_keys::key_hash.eq(&credential_hash))
                .count()
                .get_result::<i64>(conn)?
                > 0;
        if still_stored {
            self.remember_generation(key, generation, company_id);
            Ok(Some(Session { identity, login }))
        } else {
            diesel::delete(web_sessions::table.filter(web_sessions::sid_hash.eq(&hash))).execute(conn)?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_stored_hashed_shared_and_end_with_their_credential() {
        let dir = std::env::temp_dir().join(format!("bankbridge-sessions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned());
        let pool = crate::db::connect(&url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let (uid, key) = crate::auth::add_user(&mut conn, "sam", "Acme", None).unwrap();
        let (one, two) = (Authenticator::default(), Authenticator::default()); // two processes
        let (identity, hash) =
            one.authenticate_credential(&mut conn, "sam", &key, crate::auth::LOCAL).unwrap().expect("login");
        let sid = open(&mut conn, identity, "sam", &hash).unwrap();
        let stored: Vec<String> = web_sessions::table.select(web_sessions::sid_hash).load(&mut conn).unwrap();
        assert_eq!(stored, vec![sid_hash(&sid)], "only the hash is stored");
        let expected = Session { identity: Identity { uid, company_id: identity.company_id }, login: "sam".into() };
        for auth in [&one, &two, &one] {
            assert_eq!(auth.session(&mut conn, &sid).unwrap(), Some(expected.clone()));
        }
        for bad in ["", "zz", &sid[..10], &sid.to_uppercase().replace('A', "B")] {
            assert_eq!(one.session(&mut conn, bad).unwrap(), None, "{bad}");
        }
        crate::auth::revoke_keys(&mut conn, "sam").unwrap();
        assert_eq!(two.session(&mut conn, &sid).unwrap(), None);
        assert_eq!(count(&mut conn).unwrap(), 0, "a dead session is deleted");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
