//! Odoo's three RPC services (`common`, `db`, `object`), shared by XML-RPC and JSON-RPC.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::app::App;
use crate::auth::Identity;
use crate::db::step_budget;
use crate::db::{AnyConnection, Backend};
use crate::error::{Error, Result};
use crate::models::{self, Button};
use crate::orm::access::{check_access, generic_operation, Operation};
use crate::orm::methods::{self, call_generic};
use crate::orm::{Call, Env, OdooSerie};
use crate::types::Value;

use remembered::Remembered;

pub const SERVER_VERSION: &str = concat!("17.0+bankbridge-", env!("CARGO_PKG_VERSION"));

/// The Odoo version whose External JSON-2 API `/json/2` speaks (`GET /web/version`): XML-RPC and JSON-RPC
/// answer as Odoo 17, JSON-2 as Odoo 19, which introduced it.
pub const JSON2_SERVER_VERSION: &str = concat!("19.0+bankbridge-", env!("CARGO_PKG_VERSION"));
pub const JSON2_VERSION_INFO: (i64, i64, i64, &str, i64, &str) = (19, 0, 0, "final", 0, "");

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

/// Runs one call of `service` from `client` (the key the credential throttle counts failures under: the
/// client's address, or its IPv6 /64). `request_bytes` is the size of the request it came in: only a small
/// one may be answered on the HTTP worker (see `on_worker`).
pub async fn dispatch(
    app: &Arc<App>,
    service: &str,
    method: &str,
    params: Vec<Value>,
    request_bytes: usize,
    client: IpAddr,
    caller: &mut Caller,
) -> Result<Value> {
    match service {
        "common" => common(app, method, params, client, caller).await,
        "db" => db(app, method, params),
        "object" => object(app, method, params, request_bytes, client, caller).await,
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

async fn common(
    app: &Arc<App>,
    method: &str,
    params: Vec<Value>,
    client: IpAddr,
    caller: &mut Caller,
) -> Result<Value> {
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
            let identity = app.db(move |conn, app| app.auth.authenticate(conn, &login, &password, client)).await?;
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
#[derive(Clone, Debug)]
pub struct ObjectCall {
    pub model: String,
    pub method: String,
    pub args: Vec<Value>,
    pub kwargs: BTreeMap<String, Value>,
}

/// The two methods of the `object` service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectMethod {
    Execute,
    ExecuteKw,
}

impl ObjectMethod {
    pub fn parse(method: &str) -> Result<ObjectMethod> {
        match method {
            "execute" => Ok(ObjectMethod::Execute),
            "execute_kw" => Ok(ObjectMethod::ExecuteKw),
            other => Err(Error::application(format!("Method not available {other}"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ObjectMethod::Execute => "execute",
            ObjectMethod::ExecuteKw => "execute_kw",
        }
    }

    /// Checks the shape of the call (`params` includes db, uid and password) and splits it. Pure, no
    /// database.
    pub fn call(self, mut params: Vec<Value>) -> Result<ObjectCall> {
        let method = self.name();
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
        let (args, kwargs) = match self {
            ObjectMethod::ExecuteKw => {
                if rest.len() > 2 {
                    return Err(Error::application(
                        "execute_kw() takes (db, uid, password, model, method, args, kwargs)",
                    ));
                }
                let mut rest = rest.into_iter();
                let args = match rest.next() {
                    Some(Value::List(items)) => items,
                    None => Vec::new(),
                    Some(other) => {
                        return Err(Error::application(format!(
                            "execute_kw(): args must be a list, got {}",
                            other.kind()
                        )))
                    }
                };
                let kwargs = match rest.next() {
                    Some(Value::Map(map)) => map,
                    None => BTreeMap::new(),
                    Some(v) if v.is_null() => BTreeMap::new(),
                    Some(other) => {
                        return Err(Error::application(format!(
                            "execute_kw(): kwargs must be a dict, got {}",
                            other.kind()
                        )))
                    }
                };
                (args, kwargs)
            }
            ObjectMethod::Execute => (rest, BTreeMap::new()),
        };
        Ok(ObjectCall { model: model_name, method: model_method, args, kwargs })
    }
}

/// Checks the shape of an `execute`/`execute_kw` call and splits it (the fuzz targets drive it).
pub fn parse_object_call(method: &str, params: Vec<Value>) -> Result<ObjectCall> {
    ObjectMethod::parse(method)?.call(params)
}

/// What a model call's caller presents.
enum Credential {
    /// `object`'s uid and password (or API key).
    Password { uid: i64, password: String },
    /// JSON-2's bearer API key.
    Bearer(String),
}

impl Credential {
    /// The caller's identity when its secret was verified before, without hashing (`None`: not known yet,
    /// or refused; the full check decides).
    fn check_remembered(&self, app: &App, conn: &mut AnyConnection, client: IpAddr) -> Result<Option<Identity>> {
        match self {
            Credential::Password { uid, password } => app.auth.check_remembered(conn, *uid, password, client),
            Credential::Bearer(key) => app.auth.check_bearer_remembered(conn, key, client),
        }
    }

    /// The caller's identity, or Access Denied.
    fn check(&self, app: &App, conn: &mut AnyConnection, client: IpAddr) -> Result<Identity> {
        match self {
            Credential::Password { uid, password } => app.auth.check(conn, *uid, password, client),
            Credential::Bearer(key) => app.auth.check_bearer(conn, key, client)?.ok_or_else(Error::access_denied),
        }
    }
}

/// A model call whose database and credentials are named: the caller to check, and the call (or what is
/// wrong with its shape, told only once the credentials pass: a caller without them learns nothing about
/// the call's shape, as in Odoo).
struct ObjectRequest {
    credential: Credential,
    /// Where it comes from (the credential throttle's key).
    client: IpAddr,
    /// Whose ORM semantics the call gets.
    serie: OdooSerie,
    call: Result<ObjectCall>,
}

async fn object(
    app: &Arc<App>,
    method: &str,
    params: Vec<Value>,
    request_bytes: usize,
    client: IpAddr,
    caller: &mut Caller,
) -> Result<Value> {
    let method = ObjectMethod::parse(method)?;
    // The database first, as Odoo opens it before checking credentials (its name is public: `db.list`).
    if let Some(Value::Str(db)) = params.first() {
        check_database(app, db)?;
    }
    caller.claimed_uid = params.get(1).and_then(Value::as_i64);
    let (Some(uid), Some(Value::Str(password))) = (caller.claimed_uid, params.get(2)) else {
        caller.denied = true;
        return Err(Error::access_denied());
    };
    let credential = Credential::Password { uid, password: password.to_string() };
    let request = ObjectRequest { credential, client, serie: OdooSerie::V17, call: method.call(params) };
    checked_call(app, request, request_bytes, caller).await
}

/// A JSON-2 call (`/json/2`) from `client` with a bearer `key`: checked and run as an `object` call is, in
/// one trip (on the HTTP worker or the blocking pool), with Odoo 19's ORM semantics. A refused key is an
/// Access Denied error with `caller.denied` set.
pub async fn call_with_bearer(
    app: &Arc<App>,
    key: String,
    client: IpAddr,
    call: ObjectCall,
    request_bytes: usize,
    caller: &mut Caller,
) -> Result<Value> {
    let request = ObjectRequest { credential: Credential::Bearer(key), client, serie: OdooSerie::V19, call: Ok(call) };
    checked_call(app, request, request_bytes, caller).await
}

/// Checks a model call's caller and runs the call: tried on the HTTP worker first; what it declines goes to
/// the blocking pool in one trip (the credential check and a generic method run on the same connection,
/// one after the other).
async fn checked_call(
    app: &Arc<App>,
    request: ObjectRequest,
    request_bytes: usize,
    caller: &mut Caller,
) -> Result<Value> {
    let (identity, step) = match on_worker(app, request, request_bytes) {
        OnWorker::Settled(identity, step) => (identity, step),
        OnWorker::Declined(request) => {
            let checked = app.db(move |conn, app| pool::on_pool(conn, app, request)).await;
            match checked {
                Ok(checked) => checked,
                Err(e) => {
                    caller.denied = e.kind() == crate::error::ErrorKind::AccessDenied;
                    return Err(e);
                }
            }
        }
    };
    caller.identity = Some(identity);
    match step {
        Step::Answered(outcome) => outcome,
        // Buttons, unlink hooks and what the worker could not finish continue here, off the pool.
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

/// Where a checked `object` call is planned and, when it can be, run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// The HTTP worker that received it, on a SQLite reader: only a caller whose secret is already
    /// verified (no argon2 here), only reading methods, within the step budget.
    Worker,
    /// A pooled connection on the blocking pool: anything.
    Pool,
}

/// What the HTTP worker did with an `object` call.
enum OnWorker {
    /// Not tried here (PostgreSQL, a large request, no free reader, a secret not verified yet): the call
    /// goes to the blocking pool untouched.
    Declined(ObjectRequest),
    /// Its caller checked, the call planned, and answered or not.
    Settled(Identity, Step),
}

/// Where a checked `object` call stands.
enum Step {
    Answered(Result<Value>),
    /// Planned; the rest (a write on the worker, a button, an unlink hook, a read over the step budget)
    /// runs on the pool.
    Continue(Planned),
}

/// Runs a small reading call on the HTTP worker itself, on one of the SQLite readers, when its caller's
/// secret is already verified: for `search_read` of 80 records the trip to the blocking pool and back cost
/// more than the read. What bounds the time the worker's other connections wait is the request size and
/// the step budget; a reader never waits for a lock (`busy_timeout = 0`) and cannot write (`query_only`).
fn on_worker(app: &App, request: ObjectRequest, request_bytes: usize) -> OnWorker {
    if request_bytes > WORKER_REQUEST_BYTES_MAX {
        return OnWorker::Declined(request);
    }
    let Some(mut conn) = app.readers.as_ref().and_then(|readers| readers.try_get()) else {
        return OnWorker::Declined(request);
    };
    // One budget for the whole call, the credential check included.
    step_budget::run_within(WORKER_STEPS_MAX, || {
        match remembered::read_as_remembered(&mut conn, app, &request, Place::Worker) {
            Remembered::Answered(identity, step) => return OnWorker::Settled(identity, step),
            // The guard failed, the check after the read found another caller or none, or the read did not
            // finish here: the pool decides.
            Remembered::Checked(_) | Remembered::Unfinished => return OnWorker::Declined(request),
            Remembered::NotTaken => {}
        }
        // Only a secret verified before (no argon2 on the worker).
        let Ok(Some(identity)) = request.credential.check_remembered(app, &mut conn, request.client) else {
            return OnWorker::Declined(request);
        };
        OnWorker::Settled(identity, settle(&mut conn, app, Place::Worker, identity, request.serie, request.call))
    })
}

/// Plans a checked caller's call and runs it when `place` may: the one path of every `object` call.
fn settle(
    conn: &mut AnyConnection,
    app: &App,
    place: Place,
    identity: Identity,
    serie: OdooSerie,
    call: Result<ObjectCall>,
) -> Step {
    let planned =
        call.and_then(|call| plan_call(app, identity, &call.model, &call.method, call.args, call.kwargs, serie));
    let (call, operation) = match planned {
        Err(e) => return Step::Answered(Err(e)),
        Ok(Planned::Generic { call, operation }) if runs_here(place, &call, operation) => (call, operation),
        Ok(planned) => return Step::Continue(planned),
    };
    let outcome = run_generic(conn, app, &call, operation);
    if unfinished_at(place, &outcome) {
        return Step::Continue(Planned::Generic { call, operation });
    }
    Step::Answered(outcome)
}

/// Whether a call run at `place` left `outcome` without being the call's answer: on the worker, a call over
/// the step budget, or a database failure (a lock it would have to wait for), runs again on the pool.
fn unfinished_at(place: Place, outcome: &Result<Value>) -> bool {
    place == Place::Worker && (step_budget::spent() || outcome.as_ref().is_err_and(Error::from_database))
}

/// Whether a generic method runs at `place`: the worker runs reads only; the pool runs any method but
/// an unlink whose model has an async `before_unlink` hook, which continues off the pool.
fn runs_here(place: Place, call: &Call, operation: Operation) -> bool {
    match place {
        Place::Worker => matches!(operation, Operation::Read | Operation::None),
        Place::Pool => !runs_hook(call, operation),
    }
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
    serie: OdooSerie,
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
        env: Env::new(identity.uid, identity.company_id, context, serie),
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
                    // Another company's records are refused before the hook acts on the others.
                    check_rules_first(app, &call, Operation::Unlink).await?;
                    hook(Arc::clone(app), call.clone()).await?;
                }
            }
            app.db(move |conn, app| run_generic(conn, app, &call, operation)).await
        }
        Planned::Button { handler, call } => {
            // A button begins as Odoo's buttons do, by reading its records: another company's record is
            // the ORM's access error before anything runs. `@api.model` buttons take no records.
            let on_records = models::buttons(call.model)
                .iter()
                .any(|(signature, _)| signature.name == call.method && !signature.api_model);
            if on_records {
                check_rules_first(app, &call, Operation::Read).await?;
            }
            handler(Arc::clone(app), call).await
        }
    }
}

/// The ORM's record rules on the call's records (`args[0]`), checked before code that acts outside the
/// ORM (a button, an unlink hook) runs.
async fn check_rules_first(app: &Arc<App>, call: &Call, operation: Operation) -> Result<()> {
    let Some(ids) = call.args.first() else { return Ok(()) };
    let ids = crate::orm::convert::id_list(ids)?;
    let (model, env) = (call.model, call.env.clone());
    app.db(move |conn, app| {
        let orm = crate::orm::Orm { registry: &app.registry, backend: conn.backend(), env: &env };
        orm.check_rules(conn, app.registry.model(model)?, &ids, operation)
    })
    .await
}

/// Runs one model method for a web session's user (`/web/dataset/call_kw`) with Odoo 17's ORM semantics,
/// as every entry point but JSON-2 (which checks its key and calls through `call_with_bearer`).
pub async fn call_session_model(
    app: &Arc<App>,
    identity: Identity,
    model_name: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: BTreeMap<String, Value>,
) -> Result<Value> {
    run_planned(app, plan_call(app, identity, model_name, method, args, kwargs, OdooSerie::V17)?).await
}

mod pool;
mod remembered;
#[cfg(test)]
mod tests;
