//! The `object` service's worker path against a real SQLite database.

use super::*;
use crate::auth::LOCAL;
use crate::db::DatabaseUrl;

/// A bridge on a fresh SQLite file with one reader (every call on the worker uses the same connection),
/// its first user's credentials already verified once (as after any first call), and `accounts` bank
/// accounts.
fn bridge(dir: &std::path::Path, accounts: usize) -> (Arc<App>, i64, String) {
    std::fs::create_dir_all(dir).expect("dir");
    bridge_on(&DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned()), accounts)
}

fn bridge_on(url: &DatabaseUrl, accounts: usize) -> (Arc<App>, i64, String) {
    let app = crate::server::open(url, "bankbridge", 2, 1, crate::bank::Banks::default()).expect("open");
    let mut conn = app.pool.get().expect("connection");
    let (uid, key) = crate::auth::add_user(&mut conn, "admin", "My Company", None).expect("user");
    let identity = app.auth.check(&mut conn, uid, &key, LOCAL).expect("credentials");
    let mut create = |model: &str, values: Value| -> Value {
        let Ok(Planned::Generic { call, operation }) =
            plan_call(&app, identity, model, "create", vec![values], BTreeMap::new(), OdooSerie::V17)
        else {
            panic!("create is generic");
        };
        run_generic(&mut conn, &app, &call, operation).expect("create")
    };
    let link = create("account.online.link", Value::map([("name", Value::str("Bank"))]));
    let rows = (0..accounts)
        .map(|i| {
            Value::map([("name", Value::str(format!("Account {i:04}"))), ("account_online_link_id", link.clone())])
        })
        .collect();
    create("account.online.account", Value::List(rows));
    drop(conn);
    (app, uid, key)
}

fn search_read(uid: i64, key: &str) -> Vec<Value> {
    vec![
        Value::str("bankbridge"),
        Value::Int(uid),
        Value::str(key),
        Value::str("account.online.account"),
        Value::str("search_read"),
        Value::List(vec![Value::List(vec![])]),
        Value::map([("fields", Value::List(vec![Value::str("name"), Value::str("account_online_link_id")]))]),
    ]
}

/// `on_worker` for an `execute_kw` call of `uid` with `key`.
fn on_worker_call(app: &App, uid: i64, key: &str, params: Vec<Value>, request_bytes: usize) -> OnWorker {
    let credential = Credential::Password { uid, password: key.to_string() };
    let call = ObjectMethod::ExecuteKw.call(params);
    let request = ObjectRequest { credential, client: LOCAL, serie: OdooSerie::V17, call };
    on_worker(app, request, request_bytes)
}

fn records(value: &Value) -> usize {
    value.list_len().unwrap_or_else(|| panic!("records expected, got {value:?}"))
}

#[test]
fn a_small_read_is_answered_on_the_worker_within_a_fraction_of_the_budget() {
    let dir = std::env::temp_dir().join(format!("bankbridge-on-worker-small-{}", std::process::id()));
    let (app, uid, key) = bridge(&dir, 80);
    match on_worker_call(&app, uid, &key, search_read(uid, &key), 600) {
        OnWorker::Settled(identity, Step::Answered(Ok(value))) => {
            assert_eq!(identity.uid, uid);
            assert_eq!(records(&value), 80);
        }
        _ => panic!("a search_read of 80 records is answered on the worker"),
    }
    // The call fits in a quarter of the budget: the bound is far from what ordinary reads take.
    let mut conn = app.readers.as_ref().expect("readers").get().expect("reader");
    let identity = app.auth.check_remembered(&mut conn, uid, &key, LOCAL).expect("check").expect("remembered");
    let call = parse_object_call("execute_kw", search_read(uid, &key)).expect("call");
    let Ok(Planned::Generic { call, operation }) =
        plan_call(&app, identity, &call.model, &call.method, call.args, call.kwargs, OdooSerie::V17)
    else {
        panic!("search_read is generic");
    };
    let quarter = step_budget::run_within(WORKER_STEPS_MAX / 4, || {
        (run_generic(&mut conn, &app, &call, operation), step_budget::spent())
    });
    assert!(matches!(quarter, (Ok(_), false)), "search_read of 80 records needs more than a quarter of the budget");
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_the_worker_may_not_answer_goes_to_the_pool_untouched_or_planned() {
    let dir = std::env::temp_dir().join(format!("bankbridge-on-worker-large-{}", std::process::id()));
    let (app, uid, key) = bridge(&dir, 3000);
    // Over the step budget: interrupted on the worker, then answered in full on the blocking pool.
    let OnWorker::Declined(request) = on_worker_call(&app, uid, &key, search_read(uid, &key), 600) else {
        panic!("a search_read of 3,000 records goes on to the pool");
    };
    let mut conn = app.pool.get().expect("connection");
    let (identity, found) = answered_records(pool::on_pool(&mut conn, &app, request));
    assert_eq!((identity.uid, found), (uid, 3000));
    drop(conn);
    // The interrupted read left its reader usable: a small read is answered on the worker again.
    let mut small = search_read(uid, &key);
    small[6] = Value::map([("limit", Value::Int(5))]);
    assert!(matches!(
        on_worker_call(&app, uid, &key, small, 600),
        OnWorker::Settled(_, Step::Answered(Ok(value))) if records(&value) == 5
    ));
    // A large request, and a secret never verified, are not tried on the worker at all.
    let declined = |outcome| matches!(outcome, OnWorker::Declined(request) if request.call.is_ok());
    assert!(declined(on_worker_call(&app, uid, &key, search_read(uid, &key), 5000)));
    assert!(declined(on_worker_call(&app, uid, "wrong", search_read(uid, "wrong"), 600)));
    // A write is checked and planned on the worker but runs on the pool.
    let mut write = search_read(uid, &key);
    write[4] = Value::str("write");
    write[5] = Value::List(vec![Value::List(vec![Value::Int(1)]), Value::map([("name", Value::str("Renamed"))])]);
    write.truncate(6);
    assert!(matches!(
        on_worker_call(&app, uid, &key, write, 600),
        OnWorker::Settled(_, Step::Continue(Planned::Generic { operation: Operation::Write, .. }))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_cannot_write_and_never_waits_for_a_lock() {
    use diesel::connection::SimpleConnection;
    let dir = std::env::temp_dir().join(format!("bankbridge-reader-{}", std::process::id()));
    let (app, _, _) = bridge(&dir, 1);
    let mut reader = app.readers.as_ref().expect("readers").get().expect("reader");
    let refused = reader.batch_execute("UPDATE online_accounts SET name = 'x'").expect_err("query_only");
    assert!(refused.to_string().contains("readonly"), "{refused}");
    // It fails at once where a pooled connection waits up to 30 s for a lock.
    let timeout = |conn: &mut AnyConnection| {
        let mut sql = crate::orm::sql::Sql::new(Backend::Sqlite);
        sql.push("SELECT timeout AS n FROM pragma_busy_timeout");
        sql.load_count(conn).expect("busy_timeout")
    };
    let mut writer = app.pool.get().expect("writer");
    assert_eq!((timeout(&mut reader), timeout(&mut writer)), (0, 30_000));
    drop((reader, writer));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `on_worker` for a JSON-2 `search_read` with bearer `key`.
fn on_worker_bearer(app: &App, key: &str) -> OnWorker {
    let call = ObjectCall {
        model: "account.online.account".into(),
        method: "search_read".into(),
        args: Vec::new(),
        kwargs: BTreeMap::from([("fields".to_string(), Value::List(vec![Value::str("name")]))]),
    };
    let request = ObjectRequest {
        credential: Credential::Bearer(key.to_string()),
        client: LOCAL,
        serie: OdooSerie::V19,
        call: Ok(call),
    };
    on_worker(app, request, 100)
}

#[test]
fn a_json2_read_takes_the_worker_once_its_key_is_verified_and_stops_when_it_is_revoked() {
    let dir = std::env::temp_dir().join(format!("bankbridge-on-worker-bearer-{}", std::process::id()));
    let (app, uid, key) = bridge(&dir, 80);
    // Not verified as a bearer key yet: the worker does not hash, the full check runs on the pool.
    assert!(matches!(on_worker_bearer(&app, &key), OnWorker::Declined(request) if request.call.is_ok()));
    let mut conn = app.pool.get().expect("connection");
    let identity = app.auth.check_bearer(&mut conn, &key, LOCAL).expect("check").expect("a valid key");
    assert_eq!(identity.uid, uid);
    // Verified: the key's check and the read in one go on the worker.
    match on_worker_bearer(&app, &key) {
        OnWorker::Settled(identity, Step::Answered(Ok(value))) => {
            assert_eq!(identity.uid, uid);
            assert_eq!(records(&value), 80);
        }
        _ => panic!("a JSON-2 search_read of 80 records with a verified key is answered on the worker"),
    }
    // Revoked: the next call is declined on the worker and refused by the full check.
    assert_eq!(crate::auth::revoke_keys(&mut conn, "admin").expect("revoke"), 1);
    let OnWorker::Declined(request) = on_worker_bearer(&app, &key) else {
        panic!("a revoked key is not answered on the worker");
    };
    let refused = request.credential.check(&app, &mut conn, LOCAL).map(|_| ()).expect_err("revoked");
    assert_eq!(refused.kind(), crate::error::ErrorKind::AccessDenied);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

/// How a test caller calls: XML-RPC's uid and key, or JSON-2's bearer key.
#[derive(Clone, Copy, Debug)]
enum Through {
    XmlRpc,
    Json2,
}

/// A `search_read` of the accounts' name and link, as `through` sends it.
fn search_read_request(through: Through, uid: i64, key: &str) -> ObjectRequest {
    match through {
        Through::XmlRpc => ObjectRequest {
            credential: Credential::Password { uid, password: key.to_string() },
            client: LOCAL,
            serie: OdooSerie::V17,
            call: ObjectMethod::ExecuteKw.call(search_read(uid, key)),
        },
        Through::Json2 => ObjectRequest {
            credential: Credential::Bearer(key.to_string()),
            client: LOCAL,
            serie: OdooSerie::V19,
            call: Ok(ObjectCall {
                model: "account.online.account".into(),
                method: "search_read".into(),
                args: Vec::new(),
                kwargs: BTreeMap::from([(
                    "fields".to_string(),
                    Value::List(vec![Value::str("name"), Value::str("account_online_link_id")]),
                )]),
            }),
        },
    }
}

/// `on_pool` for `request` on `conn`, counting its statements.
fn on_pool_counted(app: &App, conn: &mut AnyConnection, request: ObjectRequest) -> (Result<(Identity, Step)>, usize) {
    use diesel::connection::{Connection as _, InstrumentationEvent};
    let statements = counting(conn);
    let outcome = pool::on_pool(conn, app, request);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    (outcome, statements.load(std::sync::atomic::Ordering::Relaxed))
}

fn answered_records(outcome: Result<(Identity, Step)>) -> (Identity, usize) {
    match outcome {
        Ok((identity, Step::Answered(Ok(value)))) => (identity, records(&value)),
        Ok((_, Step::Answered(Err(e)))) => panic!("the read failed: {e}"),
        Ok((_, Step::Continue(_))) => panic!("a read runs on the pool"),
        Err(e) => panic!("refused: {e}"),
    }
}

/// On the blocking pool, a `search_read` by a caller verified before (an XML-RPC uid and key, or a JSON-2
/// bearer key) takes no statement for the credential check (on PostgreSQL a round trip): the caller's
/// user row is checked by the read itself. When that row changed since (moved to another company,
/// disabled), the read's answer is not used and the usual check decides.
#[test]
fn a_remembered_caller_is_checked_by_its_read_itself_on_the_pool() {
    let dir = std::env::temp_dir().join(format!("bankbridge-remembered-pool-{}", std::process::id()));
    for through in [Through::XmlRpc, Through::Json2] {
        let file = dir.join(format!("{through:?}.db")).to_string_lossy().into_owned();
        std::fs::create_dir_all(&dir).expect("dir");
        remembered_caller_checked_by_its_read(&DatabaseUrl::Sqlite(file), through);
        if let Some(url) = crate::db::test_db::postgres(&format!("remembered_read_{through:?}").to_lowercase()) {
            remembered_caller_checked_by_its_read(&url, through);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// On the HTTP worker (SQLite) too: a remembered caller's `search_read` is its two statements (the read
/// with the caller's row in it, and the link's name), not a third for the check; a caller moved to another
/// company never gets the first company's records there, and a disabled one is not answered there.
#[test]
fn a_remembered_caller_is_checked_by_its_read_itself_on_the_worker() {
    use diesel::RunQueryDsl;
    for through in [Through::XmlRpc, Through::Json2] {
        let dir = std::env::temp_dir().join(format!("bankbridge-remembered-worker-{through:?}-{}", std::process::id()));
        let (app, uid, key) = bridge(&dir, 3);
        let mut conn = app.pool.get().expect("connection");
        app.auth.check_bearer(&mut conn, &key, LOCAL).expect("check").expect("a valid key");
        let read = || on_worker_counted(&app, search_read_request(through, uid, &key));
        let (settled, statements) = read();
        let (identity, found) = worker_records(settled).expect("answered on the worker");
        assert_eq!((identity.uid, found), (uid, 3), "{through:?}");
        assert_eq!(statements, 2, "statements of a remembered caller's search_read on the worker through {through:?}");

        crate::auth::add_user(&mut conn, "olga", "Globex", None).expect("user");
        diesel::sql_query(
            "UPDATE users SET company_id = (SELECT company_id FROM users WHERE login = 'olga') WHERE login = 'admin'",
        )
        .execute(&mut conn)
        .expect("move");
        if let Some((moved, found)) = worker_records(read().0) {
            assert_ne!(moved.company_id, identity.company_id, "{through:?}");
            assert_eq!(found, 0, "Globex has no accounts ({through:?})");
        }
        // Back, and verified again (as the pool does when the worker declines): answered on the worker again.
        diesel::sql_query("UPDATE users SET company_id = 1 WHERE login = 'admin'").execute(&mut conn).expect("back");
        search_read_request(through, uid, &key).credential.check(&app, &mut conn, LOCAL).expect("verified again");
        assert_eq!(worker_records(read().0), Some((identity, 3)), "{through:?}");
        diesel::sql_query("UPDATE users SET active = FALSE WHERE login = 'admin'").execute(&mut conn).expect("disable");
        assert_eq!(worker_records(read().0), None, "a disabled caller is not answered on the worker ({through:?})");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `on_worker` for `request`, counting the statements of the worker's reader.
fn on_worker_counted(app: &App, request: ObjectRequest) -> (OnWorker, usize) {
    let readers = app.readers.as_ref().expect("readers");
    let statements = counting(&mut readers.get().expect("reader"));
    let outcome = on_worker(app, request, 100);
    diesel::Connection::set_instrumentation(
        &mut *readers.get().expect("reader"),
        |_: diesel::connection::InstrumentationEvent<'_>| {},
    );
    (outcome, statements.load(std::sync::atomic::Ordering::Relaxed))
}

/// The caller and the number of records, when the worker answered a read.
fn worker_records(outcome: OnWorker) -> Option<(Identity, usize)> {
    match outcome {
        OnWorker::Settled(identity, Step::Answered(Ok(value))) => Some((identity, records(&value))),
        OnWorker::Settled(_, Step::Answered(Err(e))) => panic!("the read failed on the worker: {e}"),
        OnWorker::Settled(_, Step::Continue(_)) | OnWorker::Declined(_) => None,
    }
}

/// Counts the statements `conn` starts from now on, but for the transaction's own (SQLite runs a read's
/// statements in one transaction, PostgreSQL a read's each on its own).
fn counting(conn: &mut AnyConnection) -> Arc<std::sync::atomic::AtomicUsize> {
    use diesel::connection::{Connection as _, InstrumentationEvent};
    let statements = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&statements);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            if !matches!(query.to_string().as_str(), "BEGIN" | "COMMIT" | "ROLLBACK") {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    statements
}

fn remembered_caller_checked_by_its_read(url: &DatabaseUrl, through: Through) {
    use diesel::RunQueryDsl;
    let (app, uid, key) = bridge_on(url, 3);
    let mut conn = app.pool.get().expect("connection");
    let read = |conn: &mut AnyConnection| on_pool_counted(&app, conn, search_read_request(through, uid, &key));
    let (identity, found) = answered_records(read(&mut conn).0);
    assert_eq!((identity.uid, found), (uid, 3), "{through:?}");
    let (outcome, statements) = read(&mut conn);
    assert_eq!(answered_records(outcome), (identity, 3), "{through:?}");
    // The read, with the caller's row in it, and the many2one's names: no statement of the check's own.
    assert_eq!(statements, 2, "statements of a remembered caller's search_read through {through:?}");

    // `read` by ids too: one statement, the caller's row in it.
    let read_link = ObjectRequest {
        credential: Credential::Password { uid, password: key.clone() },
        client: LOCAL,
        serie: OdooSerie::V17,
        call: Ok(ObjectCall {
            model: "account.online.link".into(),
            method: "read".into(),
            args: vec![Value::List(vec![Value::Int(1)])],
            kwargs: BTreeMap::from([("fields".to_string(), Value::List(vec![Value::str("name")]))]),
        }),
    };
    let (outcome, statements) = on_pool_counted(&app, &mut conn, read_link);
    assert_eq!(answered_records(outcome), (identity, 1), "{through:?}");
    assert_eq!(statements, 1, "statements of a remembered caller's read");

    // Moved to another company (straight in the database, no credential change): that company's records.
    crate::auth::add_user(&mut conn, "olga", "Globex", None).expect("user");
    let moved = diesel::sql_query(
        "UPDATE users SET company_id = (SELECT company_id FROM users WHERE login = 'olga') WHERE login = 'admin'",
    )
    .execute(&mut conn)
    .expect("move");
    assert_eq!(moved, 1);
    let (moved_identity, found) = answered_records(read(&mut conn).0);
    assert_ne!(moved_identity.company_id, identity.company_id, "{through:?}");
    assert_eq!(found, 0, "Globex has no accounts ({through:?})");
    let (outcome, statements) = read(&mut conn);
    assert_eq!(answered_records(outcome), (moved_identity, 0), "{through:?}");
    // The read, then the usual check (the user row, or the bearer key's owners): one statement each.
    assert_eq!(statements, 2, "no row to carry the guard: the usual check follows ({through:?})");

    // Back, then disabled: refused at once.
    diesel::sql_query("UPDATE users SET company_id = 1 WHERE login = 'admin'").execute(&mut conn).expect("back");
    assert_eq!(answered_records(read(&mut conn).0), (identity, 3), "{through:?}");
    diesel::sql_query("UPDATE users SET active = FALSE WHERE login = 'admin'").execute(&mut conn).expect("disable");
    let (outcome, _) = read(&mut conn);
    assert!(outcome.is_err_and(|e| e.kind() == crate::error::ErrorKind::AccessDenied), "{through:?}");
}
