//! Pooled PostgreSQL connections: a check-out asks the server nothing, and a connection whose backend the
//! server ended (`pg_terminate_backend`, as a restart does) is replaced at its next check-out, so the next
//! call succeeds. Runs when BANKBRIDGE_TEST_POSTGRES_URL names a server to create a database on.

use bankbridge::db::{self, AnyConnection, DatabaseUrl, DbPool};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct Query {
    #[diesel(sql_type = Text)]
    query: String,
}

/// A fresh database on the test server, and a connection to it for the checks (not from any pool).
fn fresh_database(tag: &str) -> Option<(DatabaseUrl, diesel::PgConnection)> {
    let Ok(admin) = std::env::var("BANKBRIDGE_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must provide BANKBRIDGE_TEST_POSTGRES_URL");
        eprintln!("skipped: BANKBRIDGE_TEST_POSTGRES_URL not set");
        return None;
    };
    let name = format!("bb_conn_{tag}_{}", std::process::id());
    let mut server = diesel::PgConnection::establish(&admin).expect("admin connection");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut server).expect("drop");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut server).expect("create");
    let url = format!("{}/{name}", admin.rsplit_once('/').expect("database in the URL").0);
    let observer = diesel::PgConnection::establish(&url).expect("observer connection");
    Some((DatabaseUrl::parse(&url).expect("url"), observer))
}

fn backend_pid(conn: &mut AnyConnection) -> QueryResult<i32> {
    diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(conn).map(|row| row.pid)
}

/// Ends the backends as `pg_terminate_backend` does for a restart, and waits until each is gone.
fn terminate(observer: &mut diesel::PgConnection, pids: &[i32]) {
    for pid in pids {
        diesel::sql_query(format!("SELECT pg_terminate_backend({pid}, 5000)::int AS pid"))
            .get_result::<Pid>(observer)
            .expect("terminate");
    }
}

/// Every connection of `pool` checked out at once (so all are opened), their backends' pids.
fn pids_of(pool: &DbPool) -> Vec<i32> {
    let mut held: Vec<_> = (0..pool.max_size()).map(|_| pool.get().expect("check-out")).collect();
    held.iter_mut().map(|conn| backend_pid(conn).expect("pid")).collect()
}

#[test]
fn a_check_out_asks_the_server_nothing() {
    let Some((url, mut observer)) = fresh_database("checkout") else { return };
    let pool = db::connect(&url, 1).expect("pool");
    let pid = backend_pid(&mut pool.get().expect("check-out")).expect("pid");
    // The next check-out of the same connection, then nothing: the backend's last statement is still ours.
    let conn = pool.get().expect("check-out");
    let last = diesel::sql_query(format!("SELECT query FROM pg_stat_activity WHERE pid = {pid}"))
        .get_result::<Query>(&mut observer)
        .expect("activity");
    assert_eq!(last.query, "SELECT pg_backend_pid() AS pid", "a check-out sent a statement");
    drop(conn);
}

#[test]
fn a_connection_whose_backend_was_ended_is_replaced_at_the_next_check_out() {
    let Some((url, mut observer)) = fresh_database("ended") else { return };
    let pool = db::connect(&url, 3).expect("pool");
    let ended = pids_of(&pool);
    assert_eq!(ended.len(), 3);
    terminate(&mut observer, &ended);
    // Each of the next calls is answered, on a new backend: no call fails for the ended ones.
    for _ in 0..6 {
        let mut conn = pool.get().expect("check-out after the backends ended");
        let pid = backend_pid(&mut conn).expect("a call after the backends ended");
        assert!(!ended.contains(&pid), "backend {pid} was ended");
    }
}
