//! What the fuzz targets run, shared with the regression test `tests/fuzz_corpus.rs` (which replays
//! `fuzz/corpus/**` and `fuzz/regressions/**` through the same functions). No database: requests are
//! decoded, shaped, and their queries compiled for both SQL dialects, and the compiled SQL is checked
//! for invariants that an injection or a precedence slip would break.

#![allow(dead_code)]

use std::sync::OnceLock;

use bankbridge::db::Backend;
use bankbridge::orm::args::paging;
use bankbridge::orm::domain::Domain;
use bankbridge::orm::fields_get::fields_get;
use bankbridge::orm::sql::Sql;
use bankbridge::orm::Registry;
use bankbridge::orm::{Call, Env, OdooSerie, Orm, Search};
use bankbridge::rpc::{services, xmlrpc};
use bankbridge::types::Value;

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(bankbridge::models::registry)
}

fn env() -> Env {
    Env::new(2, 1, Default::default(), OdooSerie::V17)
}

/// An XML-RPC body: decode, re-encode what was decoded, split an `object` call, compile its query.
pub fn xmlrpc_dispatch(data: &[u8]) {
    let Ok(request) = xmlrpc::decode(data) else { return };
    // Whatever the decoder accepts, the encoder must write back.
    let echoed = xmlrpc::encode_response(Value::List(request.params.clone()));
    assert!(echoed.contains("<methodResponse>"), "response encoding failed");
    let Ok(call) = services::parse_object_call(&request.method, request.params) else { return };
    let Ok(model) = registry().model(&call.model) else { return };
    let call = Call { model: model.name, method: call.method, args: call.args, kwargs: call.kwargs, env: env() };
    compile_call(&call);
}

/// The database-free part of a generic call: domain, paging and order compiled to SQL.
fn compile_call(call: &Call) {
    let registry = registry();
    let Ok(model) = registry.model(call.model) else { return };
    let empty = Value::List(Vec::new());
    let (domain, paging_at) = match call.method.as_str() {
        "search" => (call.arg(0, "domain").or_else(|| call.kwargs.get("args")), Some(1)),
        "search_read" => (call.arg(0, "domain"), Some(2)),
        "search_count" => (call.arg(0, "domain"), None),
        "fields_get" => {
            let _ = fields_get(model, None, None);
            return;
        }
        _ => return,
    };
    let domain = domain.unwrap_or(&empty);
    let (offset, limit, order) = match paging_at.map(|at| paging(call, at)) {
        Some(Ok(paging)) => paging,
        Some(Err(_)) => return,
        None => (0, None, None),
    };
    for backend in BACKENDS {
        let orm = Orm { registry, backend, env: &call.env };
        let search = Search { domain, offset, limit, order: order.as_deref() };
        if let Ok(sql) = orm.search_sql(model, &search) {
            check_sql(&sql);
        }
    }
}

/// A domain as JSON: parse, validate and compile it against every model, and evaluate it in memory.
pub fn domain(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let value = Value::from_json(json);
    let Ok(domain) = Domain::parse(&value) else { return };
    let registry = registry();
    for model in registry.models() {
        if domain.validate(registry, model).is_err() {
            continue;
        }
        for backend in BACKENDS {
            let mut sql = Sql::new(backend);
            sql.push("SELECT t.id FROM x t WHERE ");
            if domain.to_sql(registry, model, "t", &mut sql).is_ok() {
                check_sql(&sql);
            }
        }
        let _ = domain.matches(model, &|_| None);
    }
}

/// Client text only ever reaches the database as bound parameters: no quote, comment or statement
/// separator of its own in the SQL text, and parentheses balance.
fn check_sql(sql: &Sql) {
    let text = sql.text().replace("ESCAPE '\\'", "").replace("'connected'", "");
    assert!(!text.contains('\''), "a quote in compiled SQL: {text}");
    assert!(!text.contains(';') && !text.contains("--") && !text.contains("/*"), "SQL syntax from input: {text}");
    let mut depth = 0i64;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        assert!(depth >= 0, "unbalanced parentheses: {text}");
    }
    assert_eq!(depth, 0, "unbalanced parentheses: {text}");
}
