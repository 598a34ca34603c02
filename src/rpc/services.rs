//! Odoo's three RPC services (`common`, `db`, `object`), shared by XML-RPC and JSON-RPC.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::auth::Identity;
use crate::db::step_budget;
use crate::db::{AnyConnection, Backend};
use crate::error::{Error, Result};
use crate::models::{self, Button};
use crate::orm::access::{check_access, generic_operation, Operation};
use crate::orm::methods::{self, call_generic};
use crate::orm::{Call, Env};
use crate::types::Value;

pub const SERVER_VERSION: &str = concat!("17.0+bankbridge-", env!("CARGO_PKG_VERSION"));

pub fn version() -> Value {
    Value::map([
        ("server_version", Value::str(SERVER_VERSION)),
        (
            "server_version_info",
            Value::List(vec![
                Value::Int(17),
                Value::Int(0),
                Value::Int(0),
                Value::str("final"),
                Value::Int(0),
                Value::str(""),
            ]),
        ),
        ("server_serie", Value::str("17.0")),
        ("protocol_version", Value::Int(1)),
    ])
}

/// What a call learned about its caller, for the access log: filled in as the call goes, so a call that
/// fails half-way still logs who it was.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The user, once its credentials passed (or the uid `common.authenticate` returned).
    pub identity: Option<Identity>,
    /// The login a `common.login`/`authenticate` call gave (client-supplied: escape before logging).
    pub login: Option<String>,
    /// The uid an `object` call claimed, checked or not.
    pub claimed_uid: Option<i64>,
    /// Whether the credentials were refused (a False from `authenticate` or fault 3).
    pub denied: bool,
}

/// Runs one call of `service`. `request_bytes` is the size of the request it came in: only a small one
/// may be answered on the HTTP worker (see `answer_on_worker`).
pub async fn dispatch(
    app: &Arc<App>,
    service: &str,
    method: &str,
    params: Vec<Value>,
    request_bytes: usize,
    caller: &mut Caller,
) -> Result<Value> {
    match service {
        "common" => common(app, method, params, caller).await,
        "db" => db(app, method, params),
        "object" => object(app, method, params, request_bytes, caller).await,
        other => Err(Error::application(format!("No such service: {other:?} (use common, db or object)"))),
    }
}

fn str_param<'a>(params: &'a [Value], pos: usize, method: &str, name: &str) -> Result<&'a str> {
    match params.get(pos) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(Error::application(format!("{method}(): {name} must be a string, got {}", other.kind()))),
        None => Err(Error::application(format!("{method}() missing required argument: '{name}'"))),
    }
}

async fn common(app: &Arc<App>, method: &str, params: Vec<Value>, caller: &mut Caller) -> Result<Value> {
    match method {
        "version" => Ok(version()),
        "about" => {
            let text = Value::str(
                "See https://github.com/bankbridge: Odoo's external API for bank synchronization through Salt Edge",
            );
            if params.first().is_some_and(|v| !v.is_falsy()) {
                Ok(Value::List(vec![text, Value::str(SERVER_VERSION)]))
            } else {
                Ok(text)
            }
        }
        "login" | "authenticate" => {
            let max = if method == "login" { 3 } else { 4 };
            if params.len() < 3 || params.len() > max {
                return Err(Error::application(format!(
                    "{method}() takes (db, login, password{}) but {} arguments were given",
                    if method == "login" { "" } else { ", user_agent_env" },
                    params.len()
                )));
            }
            check_database(app, str_param(&params, 0, method, "db")?)?;
            let login = str_param(&params, 1, method, "login")?.to_string();
            caller.login = Some(login.clone());
            let password = match params.get(2) {
                Some(Value::Str(s)) => s.clone(),
                // Odoo answers False (not a fault) for any credential it cannot use.
                _ => {
                    caller.denied = true;
                    return Ok(Value::Bool(false));
                }
            };
            let identity = app.db(move |conn, app| app.auth.authenticate(conn, &login, &password)).await?;
            caller.identity = identity;
            caller.denied = identity.is_none();
            Ok(identity.map_or(Value::Bool(false), |i| Value::Int(i.uid)))
        }
        "set_loglevel" => Ok(Value::Bool(true)),
        other => Err(Error::application(format!("Method not found: {other}"))),
    }
}

/// Refuses a `db` other than the bridge's own, as Odoo refuses a database it does not have (psycopg2's
/// `database "x" does not exist`, fault 1), naming the one it serves so a misconfigured client finds out.
pub fn check_database(app: &App, db: &str) -> Result<()> {
    if db == app.db_name {
        return Ok(());
    }
    Err(Error::application(format!(
        "database {db:?} does not exist (this bridge serves the database {:?})",
        app.db_name
    )))
}

fn db(app: &Arc<App>, method: &str, params: Vec<Value>) -> Result<Value> {
    match method {
        "list" => Ok(Value::List(vec![Value::str(app.db_name.clone())])),
        "server_version" => Ok(Value::str(SERVER_VERSION)),
        "db_exist" => Ok(Value::Bool(params.first().and_then(Value::as_str) == Some(app.db_name.as_str()))),
        "list_lang" => Ok(Value::List(vec![Value::List(vec![Value::str("en_US"), Value::str("English (US)")])])),
        "create_database"
        | "duplicate_database"
        | "drop"
        | "dump"
        | "restore"
        | "rename"
        | "change_admin_password"
        | "migrate_databases" => Err(Error::access_denied()),
        other => Err(Error::application(format!("Method not found: {other}"))),
    }
}

/// An `object` call's model, method and arguments, once (db, uid, password) are set aside.
#[derive(Debug)]
pub struct ObjectCall {
    pub model: String,
    pub method: String,
    pub args: Vec<Value>,
    pub kwargs: BTreeMap<String, Value>,
}

/// Checks the shape of an `execute`/`execute_kw` call (`params` includes db, uid and password) and splits
/// it. Pure, no database: `object` uses it after the credential check, and the fuzz targets drive it.
pub fn parse_object_call(method: &str, mut params: Vec<Value>) -> Result<ObjectCall> {
    if method != "execute" && method != "execute_kw" {
        return Err(Error::application(format!("Method not available {method}")));
    }
    if params.len() < 5 {
        return Err(Error::application(format!(
            "{method}() takes (db, uid, password, model, method, …) but {} arguments were given",
            params.len()
        )));
    }
    let rest = params.split_off(5);
    str_param(&params, 0, method, "db")?;
    let model_method = str_param(&params, 4, method, "method")?.to_string();
    let model_name = str_param(&params, 3, method, "model")?.to_string();
    let (args, kwargs) = if method == "execute_kw" {
        if rest.len() > 2 {
            return Err(Error::application("execute_kw() takes (db, uid, password, model, method, args, kwargs)"));
        }
        let mut rest = rest.into_iter();
        let args = match rest.next() {
            Some(Value::List(items)) => items,
            None => Vec::new(),
            Some(other) => {
                return Err(Error::application(format!("execute_kw(): args must be a list, got {}", other.kind())))
            }
        };
        let kwargs = match rest.next() {
            Some(Value::Map(map)) => map,
            None => BTreeMap::new(),
            Some(v) if v.is_null() => BTreeMap::new(),
            Some(other) => {
                return Err(Error::application(format!("execute_kw(): kwargs must be a dict, got {}", other.kind())))
            }
        };
        (args, kwargs)
    } else {
        (rest, BTreeMap::new())
    };
    Ok(ObjectCall { model: model_name, method: model_method, args, kwargs })
}

async fn object(
    app: &Arc<App>,
    method: &str,
    params: Vec<Value>,
    request_bytes: usize,
    caller: &mut Caller,
) -> Result<Value> {
    if method != "execute" && method != "execute_kw" {
        return Err(Error::application(format!("Method not available {method}")));
    }
    // The database first, as Odoo opens it before checking credentials (its name is public: `db.list`).
    if let Some(Value::Str(db)) = params.first() {
        check_database(app, db)?;
    }
    // Credentials next, as Odoo does: a caller without them learns nothing about the call's shape.
    caller.claimed_uid = params.get(1).and_then(Value::as_i64);
    let (Some(uid), Some(Value::Str(password))) = (caller.claimed_uid, params.get(2)) else {
        caller.denied = true;
        return Err(Error::access_denied());
    };
    let password = password.clone();
    let params = match answer_on_worker(app, uid, &password, method, params, request_bytes) {
        OnWorker::Declined(params) => params,
        OnWorker::Answered(identity, outcome) => {
            caller.identity = Some(identity);
            return outcome;
        }
        OnWorker::Continue(identity, planned) => {
            caller.identity = Some(identity);
            return run_planned(app, planned).await;
        }
    };
    let method = method.to_string();
    // One trip to the blocking pool for the common case: the credential check and a generic method run on
    // the same connection, one after the other. Buttons and unlink hooks continue here, off the pool.
    let checked = app
        .db(move |conn, app| {
            let identity = app.auth.check(conn, uid, &password)?;
            let step = parse_object_call(&method, params).and_then(|call| {
                match plan_call(app, identity, &call.model, &call.method, call.args, call.kwargs)? {
                    Planned::Generic { call, operation } if !runs_hook(&call, operation) => {
                        run_generic(conn, app, &call, operation).map(Step::Done)
                    }
                    planned => Ok(Step::Continue(planned)),
                }
            });
            Ok((identity, step))
        })
        .await;
    let step = match checked {
        Ok((identity, step)) => {
            caller.identity = Some(identity);
            step?
        }
        Err(e) => {
            caller.denied = e.kind() == crate::error::ErrorKind::AccessDenied;
            return Err(e);
        }
    };
    match step {
        Step::Done(value) => Ok(value),
        Step::Continue(planned) => run_planned(app, planned).await,
    }
}

/// Largest request whose call may run on the HTTP worker: what the client controls (the domain, ids, the
/// SQL text they become) stays small, so preparing its statements is quick too.
const WORKER_REQUEST_BYTES_MAX: usize = 4096;

/// Most SQLite VM steps a call may take on the HTTP worker, over all its statements (the credential check
/// included). `search_read` of 80 accounts takes about 2,000, of 1,000 accounts about 22,000 (1 ms on the
/// benchmark box); past this bound the call is interrupted and runs again on the blocking pool, so the
/// worker's other connections wait about a millisecond at most.
const WORKER_STEPS_MAX: u32 = 20_000;

/// What `answer_on_worker` did with an `object` call.
enum OnWorker {
    /// Not tried here (PostgreSQL, a large request, no free reader, a secret not verified yet): the call
    /// goes to the blocking pool untouched.
    Declined(Vec<Value>),
    /// Checked and planned here; the rest (a write, a button, a read over the step budget) runs on the pool.
    Continue(Identity, Planned),
    /// Answered here.
    Answered(Identity, Result<Value>),
}

/// Runs a small reading call on the HTTP worker itself, on one of the SQLite readers, when its caller's
/// secret is already verified: for `search_read` of 80 records the trip to the blocking pool and back cost
/// more than the read. What bounds the time the worker's other connections wait is the request size and
/// the step budget; a reader never waits for a lock (`busy_timeout = 0`) and cannot write (`query_only`).
fn answer_on_worker(
    app: &App,
    uid: i64,
    password: &str,
    method: &str,
    params: Vec<Value>,
    request_bytes: usize,
) -> OnWorker {
    if request_bytes > WORKER_REQUEST_BYTES_MAX {
        return OnWorker::Declined(params);
    }
    let Some(mut conn) = app.readers.as_ref().and_then(|readers| readers.try_get()) else {
        return OnWorker::Declined(params);
    };
    // One budget for the whole call, the credential check included.
    step_budget::run_within(WORKER_STEPS_MAX, || {
        let Ok(Some(identity)) = app.auth.check_remembered(&mut conn, uid, password) else {
            return OnWorker::Declined(params);
        };
        let planned = parse_object_call(method, params)
            .and_then(|call| plan_call(app, identity, &call.model, &call.method, call.args, call.kwargs));
        match planned {
            Err(e) => OnWorker::Answered(identity, Err(e)),
            Ok(Planned::Generic { call, operation }) if matches!(operation, Operation::Read | Operation::None) => {
                let outcome = run_generic(&mut conn, app, &call, operation);
                // Over the budget, or a database failure here (a lock it would have to wait for): not the
                // call's answer.
                if step_budget::spent() || outcome.as_ref().is_err_and(Error::from_database) {
                    OnWorker::Continue(identity, Planned::Generic { call, operation })
                } else {
                    OnWorker::Answered(identity, outcome)
                }
            }
            Ok(planned) => OnWorker::Continue(identity, planned),
        }
    })
}

/// Where an `object` call stands after its trip to the blocking pool.
enum Step {
    Done(Value),
    Continue(Planned),
}

/// A model method call, checked and ready to run.
enum Planned {
    Generic { call: Call, operation: Operation },
    Button { handler: Button, call: Call },
}

/// Checks that `method` may be called remotely on `model_name` by this user, and how it runs.
fn plan_call(
    app: &App,
    identity: Identity,
    model_name: &str,
    method: &str,
    args: Vec<Value>,
    mut kwargs: BTreeMap<String, Value>,
) -> Result<Planned> {
    if method.starts_with('_') || method == "init" {
        return Err(Error::access(format!("Private methods (such as {method}) cannot be called remotely.")));
    }
    let model = app.registry.model(model_name)?;
    let context = match kwargs.remove("context") {
        Some(Value::Map(map)) => map,
        _ => BTreeMap::new(),
    };
    let call = Call {
        model: model.name,
        method: method.to_string(),
        args,
        kwargs,
        env: Env { uid: identity.uid, company_id: identity.company_id, context },
    };
    if let Some(operation) = generic_operation(method) {
        check_access(model, operation)?;
        return Ok(Planned::Generic { call, operation });
    }
    match models::button(model.name, method) {
        Some(handler) => Ok(Planned::Button { handler, call }),
        None => Err(methods::unknown_method(model, method)),
    }
}

/// Whether a generic call must first run the model's async `before_unlink` hook.
fn runs_hook(call: &Call, operation: Operation) -> bool {
    operation == Operation::Unlink && models::before_unlink(call.model).is_some()
}

/// A generic method in its own transaction (writes take SQLite's write lock up front). A reading method
/// on PostgreSQL runs without one: under READ COMMITTED every statement takes its own snapshot inside a
/// transaction too, so BEGIN and COMMIT would be two more round trips that change nothing it reads. On
/// SQLite the transaction is what keeps one snapshot for all of the call's statements.
fn run_generic(conn: &mut AnyConnection, app: &App, call: &Call, operation: Operation) -> Result<Value> {
    use diesel::Connection;
    if matches!(operation, Operation::Create | Operation::Write | Operation::Unlink) {
        crate::db::write_transaction(conn, |conn| call_generic(&app.registry, conn, call))
    } else if conn.backend() == Backend::Postgres {
        call_generic(&app.registry, conn, call)
    } else {
        conn.transaction(|conn| call_generic(&app.registry, conn, call))
    }
}

async fn run_planned(app: &Arc<App>, planned: Planned) -> Result<Value> {
    match planned {
        Planned::Generic { call, operation } => {
            if runs_hook(&call, operation) {
                if let Some(hook) = models::before_unlink(call.model) {
                    hook(Arc::clone(app), call.clone()).await?;
                }
            }
            app.db(move |conn, app| run_generic(conn, app, &call, operation)).await
        }
        Planned::Button { handler, call } => handler(Arc::clone(app), call).await,
    }
}

/// Runs one model method for an authenticated user (`/web/dataset/call_kw`).
pub async fn call_model(
    app: &Arc<App>,
    identity: Identity,
    model_name: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: BTreeMap<String, Value>,
) -> Result<Value> {
    run_planned(app, plan_call(app, identity, model_name, method, args, kwargs)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DatabaseUrl;

    /// A bridge on a fresh SQLite file with one reader (every call on the worker uses the same connection),
    /// its first user's credentials already verified once (as after any first call), and `accounts` bank
    /// accounts.
    fn bridge(dir: &std::path::Path, accounts: usize) -> (Arc<App>, i64, String) {
        std::fs::create_dir_all(dir).expect("dir");
        let url = DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned());
        let app = crate::server::open(&url, "bankbridge", 2, 1, None).expect("open");
        let mut conn = app.pool.get().expect("connection");
        let (uid, key) = crate::auth::add_user(&mut conn, "admin", "My Company", None).expect("user");
        let identity = app.auth.check(&mut conn, uid, &key).expect("credentials");
        let mut create = |model: &str, values: Value| -> Value {
            let Ok(Planned::Generic { call, operation }) =
                plan_call(&app, identity, model, "create", vec![values], BTreeMap::new())
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

    fn records(value: &Value) -> usize {
        value.list_len().unwrap_or_else(|| panic!("records expected, got {value:?}"))
    }

    #[test]
    fn a_small_read_is_answered_on_the_worker_within_a_fraction_of_the_budget() {
        let dir = std::env::temp_dir().join(format!("bankbridge-on-worker-small-{}", std::process::id()));
        let (app, uid, key) = bridge(&dir, 80);
        match answer_on_worker(&app, uid, &key, "execute_kw", search_read(uid, &key), 600) {
            OnWorker::Answered(identity, Ok(value)) => {
                assert_eq!(identity.uid, uid);
                assert_eq!(records(&value), 80);
            }
            _ => panic!("a search_read of 80 records is answered on the worker"),
        }
        // The call fits in a quarter of the budget: the bound is far from what ordinary reads take.
        let mut conn = app.readers.as_ref().expect("readers").get().expect("reader");
        let identity = app.auth.check_remembered(&mut conn, uid, &key).expect("check").expect("remembered");
        let call = parse_object_call("execute_kw", search_read(uid, &key)).expect("call");
        let Ok(Planned::Generic { call, operation }) =
            plan_call(&app, identity, &call.model, &call.method, call.args, call.kwargs)
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
        let OnWorker::Continue(identity, planned) =
            answer_on_worker(&app, uid, &key, "execute_kw", search_read(uid, &key), 600)
        else {
            panic!("a search_read of 3,000 records goes on to the pool");
        };
        assert_eq!(identity.uid, uid);
        let answer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(run_planned(&app, planned))
            .expect("answer");
        assert_eq!(records(&answer), 3000);
        // The interrupted read left its reader usable: a small read is answered on the worker again.
        let mut small = search_read(uid, &key);
        small[6] = Value::map([("limit", Value::Int(5))]);
        assert!(matches!(
            answer_on_worker(&app, uid, &key, "execute_kw", small, 600),
            OnWorker::Answered(_, Ok(value)) if records(&value) == 5
        ));
        // A large request, and a secret never verified, are not tried on the worker at all.
        let declined = |outcome| matches!(outcome, OnWorker::Declined(params) if params.len() == 7);
        assert!(declined(answer_on_worker(&app, uid, &key, "execute_kw", search_read(uid, &key), 5000)));
        assert!(declined(answer_on_worker(&app, uid, "wrong", "execute_kw", search_read(uid, "wrong"), 600)));
        // A write is checked and planned on the worker but runs on the pool.
        let mut write = search_read(uid, &key);
        write[4] = Value::str("write");
        write[5] = Value::List(vec![Value::List(vec![Value::Int(1)]), Value::map([("name", Value::str("Renamed"))])]);
        write.truncate(6);
        assert!(matches!(
            answer_on_worker(&app, uid, &key, "execute_kw", write, 600),
            OnWorker::Continue(_, Planned::Generic { operation: Operation::Write, .. })
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
}
