//! Fresh databases for the library's tests: a SQLite file in a directory of its own, and a PostgreSQL
//! database on the server BANKBRIDGE_TEST_POSTGRES_URL names (CI always gives one; elsewhere the test is
//! skipped without it).

use diesel::prelude::*;

use crate::db::DatabaseUrl;

/// A new, empty PostgreSQL database named after `tag` and this process, or `None` without a server.
pub fn postgres(tag: &str) -> Option<DatabaseUrl> {
    let Ok(admin) = std::env::var("BANKBRIDGE_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must provide BANKBRIDGE_TEST_POSTGRES_URL");
        eprintln!("skipped on PostgreSQL: BANKBRIDGE_TEST_POSTGRES_URL not set");
        return None;
    };
    let name = format!("bb_{tag}_{}", std::process::id());
    let mut server = diesel::PgConnection::establish(&admin).expect("admin connection");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut server).expect("drop");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut server).expect("create");
    let url = format!("{}/{name}", admin.rsplit_once('/').expect("database in the URL").0);
    Some(DatabaseUrl::parse(&url).expect("url"))
}

/// A new SQLite file in its own directory (removed first if a previous run left it).
pub fn sqlite(tag: &str) -> DatabaseUrl {
    let dir = std::env::temp_dir().join(format!("bankbridge-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned())
}
