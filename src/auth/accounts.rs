//! Users and companies as the CLI and start-up make them: creating, finding, disabling, passwords and API
//! keys (stored hashed).

use diesel::prelude::*;

use crate::db::schema::{api_keys, companies, users};
use crate::db::AnyConnection;
use crate::error::{Error, Result};

use super::{generate_api_key, hash_secret, KEY_PREFIX_LEN};

/// Finds or creates a company by name.
pub fn ensure_company(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::user("The company name cannot be empty."));
    }
    if let Some(id) =
        companies::table.filter(companies::name.eq(name)).select(companies::id).first::<i64>(conn).optional()?
    {
        return Ok(id);
    }
    Ok(diesel::insert_into(companies::table)
        .values(companies::name.eq(name))
        .returning(companies::id)
        .get_result::<i64>(conn)?)
}

/// Creates a user in a company (created if missing) with a first API key; returns `(uid, api_key)`.
pub fn add_user(conn: &mut AnyConnection, login: &str, company: &str, password: Option<&str>) -> Result<(i64, String)> {
    let login = login.trim();
    if login.is_empty() || login.len() > 200 || login.chars().any(char::is_control) {
        return Err(Error::user("The login must be 1 to 200 printable characters."));
    }
    conn.transaction(|conn| {
        if users::table.filter(users::login.eq(login)).count().get_result::<i64>(conn)? > 0 {
            return Err(Error::user(format!("A user with the login {login:?} already exists.")));
        }
        let company_id = ensure_company(conn, company)?;
        let password_hash = password.map(hash_secret).transpose()?;
        let uid = diesel::insert_into(users::table)
            .values((
                users::login.eq(login),
                users::name.eq(login),
                users::company_id.eq(company_id),
                users::password_hash.eq(password_hash),
            ))
            .returning(users::id)
            .get_result::<i64>(conn)?;
        let key = add_api_key(conn, uid, "created with the user")?;
        Ok((uid, key))
    })
}

/// Adds an API key to a user and returns it (shown once, stored hashed).
pub fn add_api_key(conn: &mut AnyConnection, uid: i64, name: &str) -> Result<String> {
    let key = generate_api_key();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(uid),
            api_keys::name.eq(name),
            api_keys::key_prefix.eq(&key[..KEY_PREFIX_LEN]),
            api_keys::key_hash.eq(hash_secret(&key)?),
        ))
        .execute(conn)?;
    Ok(key)
}

pub fn user_id(conn: &mut AnyConnection, login: &str) -> Result<i64> {
    users::table
        .filter(users::login.eq(login))
        .select(users::id)
        .first::<i64>(conn)
        .optional()?
        .ok_or_else(|| Error::user(format!("No user with the login {login:?}.")))
}

pub fn set_password(conn: &mut AnyConnection, login: &str, password: &str) -> Result<()> {
    if password.len() < 8 {
        return Err(Error::user("The password must have at least 8 characters."));
    }
    let uid = user_id(conn, login)?;
    diesel::update(users::table.filter(users::id.eq(uid)))
        .set(users::password_hash.eq(Some(hash_secret(password)?)))
        .execute(conn)?;
    Ok(())
}

/// On an empty database, creates the user `admin` so a first start is usable without any set-up;
/// returns its API key (to be shown once). Replicas starting together on an empty database race for it:
/// the one whose insert collides with the other's finds the user there and goes on.
pub fn ensure_first_user(conn: &mut AnyConnection) -> Result<Option<String>> {
    if users::table.count().get_result::<i64>(conn)? > 0 {
        return Ok(None);
    }
    match add_user(conn, "admin", "My Company", None) {
        Ok((_, key)) => Ok(Some(key)),
        Err(e) if users::table.count().get_result::<i64>(conn)? > 0 => {
            tracing::debug!(error = e.message(), "another process created the first user");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Disables a user: its keys and password stop working on the next call.
pub fn disable_user(conn: &mut AnyConnection, login: &str) -> Result<()> {
    let uid = user_id(conn, login)?;
    diesel::update(users::table.filter(users::id.eq(uid))).set(users::active.eq(false)).execute(conn)?;
    Ok(())
}

/// Deletes every API key of a user; returns how many there were.
pub fn revoke_keys(conn: &mut AnyConnection, login: &str) -> Result<usize> {
    let uid = user_id(conn, login)?;
    Ok(diesel::delete(api_keys::table.filter(api_keys::user_id.eq(uid))).execute(conn)?)
}
