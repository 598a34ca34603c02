//! `bankbridge backup PATH`: a consistent copy of a SQLite database, taken while the bridge runs.
//!
//! `VACUUM INTO` reads the database inside one read transaction (one snapshot: every table as of the same
//! instant, whatever writers commit meanwhile; in WAL mode it does not hold them up) and writes a compact,
//! self-contained file (no `-wal` beside it). The copy is then opened and checked before it is reported.
//! PostgreSQL is backed up with its own tool, `pg_dump`, which the error names.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::DatabaseUrl;
use crate::error::{Error, Result};

/// What a finished backup holds.
#[derive(Debug)]
pub struct BackupSummary {
    pub bytes: u64,
    pub users: i64,
    pub links: i64,
    pub transactions: i64,
}

pub fn backup(url: &DatabaseUrl, target: &Path) -> Result<BackupSummary> {
    let source = match url {
        DatabaseUrl::Sqlite(path) => path,
        DatabaseUrl::Postgres(_) => {
            return Err(Error::config(format!(
                "`bankbridge backup` copies SQLite databases; back up PostgreSQL with its own tool, while the bridge runs: \
                 pg_dump --format=custom --file={} '{}' (restore with pg_restore --clean --dbname=…)",
                target.display(),
                url.redacted()
            )))
        }
    };
    if !Path::new(source).is_file() {
        return Err(Error::config(format!("there is no SQLite database at {source}")));
    }
    let target_text = target.to_str().ok_or_else(|| Error::config("the backup path must be valid UTF-8"))?;
    if target.exists() {
        return Err(Error::config(format!(
            "{} already exists: give a new file name (a backup never overwrites)",
            target.display()
        )));
    }
    // Created empty and private first: `VACUUM INTO` writes into an empty file and keeps its mode, so the
    // copy is as private as the database (0600), whatever the umask.
    super::create_private_file(target)
        .map_err(|e| Error::config(format!("cannot create {}: {e}", target.display())))?;
    let outcome = copy_and_check(source, target_text);
    if outcome.is_err() {
        let _ = std::fs::remove_file(target);
    }
    outcome
}

fn copy_and_check(source: &str, target: &str) -> Result<BackupSummary> {
    let mut conn = diesel::SqliteConnection::establish(source)
        .map_err(|e| Error::config(format!("cannot open the SQLite database {source}: {e}")))?;
    // A writer holding the lock at the very start is waited for, as the bridge's own connections do.
    conn.batch_execute("PRAGMA busy_timeout = 30000;")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(&mut conn)
        .map_err(|e| Error::config(format!("the copy of {source} into {target} failed: {e}")))?;
    drop(conn);

    let mut copy = diesel::SqliteConnection::establish(target)
        .map_err(|e| Error::config(format!("cannot open the copy {target}: {e}")))?;
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = Text)]
        quick_check: String,
    }
    let check = diesel::sql_query("PRAGMA quick_check").load::<Check>(&mut copy)?;
    if check.len() != 1 || check[0].quick_check != "ok" {
        let problems = check.iter().map(|c| c.quick_check.as_str()).collect::<Vec<_>>().join("; ");
        return Err(Error::config(format!("the copy {target} fails SQLite's check: {problems}")));
    }
    use crate::db::schema::{online_links, online_transactions, users};
    let summary = BackupSummary {
        bytes: std::fs::metadata(target).map(|m| m.len()).unwrap_or(0),
        users: users::table.count().get_result(&mut copy)?,
        links: online_links::table.count().get_result(&mut copy)?,
        transactions: online_transactions::table.count().get_result(&mut copy)?,
    };
    Ok(summary)
}
