//! A domain's depth is counted across `any` (issue 24, defect 3). Before, the inner domain of an `any` was
//! parsed on its own with a fresh depth count: 34 nested `any` failed on SQLite with "Internal server error"
//! (`Expression tree is too large`), and 60 cost PostgreSQL 4 to 9 s of planning per request. Now every
//! level and relational step counts in one budget, with at most 16 relational steps nested: the deepest
//! domain accepted runs on both backends, one step more is refused with a message saying why.

use std::collections::BTreeMap;

use bankbridge::db::{self, DatabaseUrl};
use bankbridge::orm::domain::{Domain, MAX_DOMAIN_DEPTH, MAX_RELATIONAL_DEPTH};
use bankbridge::orm::methods::call_generic;
use bankbridge::orm::{Call, Env};
use bankbridge::types::Value;

fn leaf(field: &str, op: &str, value: Value) -> Value {
    Value::List(vec![Value::str(field), Value::str(op), value])
}

/// `levels` nested `any` over link → accounts → link …, each level's domain wrapped in `ops` alternating
/// `&` / `|` operators (which cannot be flattened) beside a plain leaf.
fn nested_any(levels: usize, ops: usize) -> Value {
    let mut domain = vec![leaf("name", "!=", Value::str("no such name"))];
    for level in (0..levels).rev() {
        let field = if level % 2 == 0 { "account_online_account_ids" } else { "account_online_link_id" };
        let mut wrapped = vec![leaf(field, "any", Value::List(domain))];
        for i in 0..ops {
            let op = if i % 2 == 0 { "&" } else { "|" };
            wrapped = [vec![Value::str(op), leaf("name", "!=", Value::str("x"))], wrapped].concat();
        }
        domain = wrapped;
    }
    Value::List(domain)
}

fn refused(domain: &Value) -> bool {
    match Domain::parse(domain) {
        Ok(_) => false,
        Err(e) => {
            assert!(e.message().contains("relational steps"), "{}", e.message());
            true
        }
    }
}

/// The deepest domains the parser accepts: `MAX_RELATIONAL_DEPTH` nested `any`, with as many operator
/// levels around them as the total budget leaves.
fn deepest_accepted() -> Vec<Value> {
    assert!(!refused(&nested_any(MAX_RELATIONAL_DEPTH, 0)));
    assert!(refused(&nested_any(MAX_RELATIONAL_DEPTH + 1, 0)), "one relational step too many");
    let ops = (0..MAX_DOMAIN_DEPTH).take_while(|ops| !refused(&nested_any(MAX_RELATIONAL_DEPTH, *ops))).last().unwrap();
    assert!(ops >= 1, "room for operators beside 16 nested any");
    // A long chain of operators with one `any` at its bottom uses the total budget instead.
    let chain = (0..MAX_DOMAIN_DEPTH).take_while(|ops| !refused(&nested_any(1, *ops))).last().unwrap();
    vec![nested_any(MAX_RELATIONAL_DEPTH, ops), nested_any(1, chain), nested_any(MAX_RELATIONAL_DEPTH / 2, ops * 2)]
}

#[test]
fn depth_counts_across_any_and_dotted_paths() {
    // What the attack sent: 34 and 60 levels of `any` (2.5 KB).
    assert!(refused(&nested_any(34, 0)) && refused(&nested_any(60, 0)));
    // A dotted path's hops are subqueries too.
    let hops = |n: usize| {
        let path = (0..n).map(|i| if i % 2 == 0 { "account_online_account_ids" } else { "account_online_link_id" });
        let path: Vec<&str> = path.chain(["name"]).collect();
        Value::List(vec![leaf(&path.join("."), "=", Value::str("x"))])
    };
    assert!(!refused(&hops(MAX_RELATIONAL_DEPTH)) && refused(&hops(MAX_RELATIONAL_DEPTH + 1)));
    // An `any` inside a deep operator chain counts the chain too.
    let ops = (0..MAX_DOMAIN_DEPTH).take_while(|ops| !refused(&nested_any(1, *ops))).last().unwrap();
    assert!(refused(&nested_any(2, ops)));
}

fn run_deepest(url: DatabaseUrl) {
    let pool = db::connect(&url, 2).expect("database");
    let mut conn = pool.get().expect("connection");
    let registry = bankbridge::models::registry();
    let company = bankbridge::auth::ensure_company(&mut conn, "Depth Co").unwrap();
    let env = Env { uid: 1, company_id: company, context: BTreeMap::new() };
    let call = |method: &str, args: Vec<Value>| Call {
        model: "account.online.link",
        method: method.to_string(),
        args,
        kwargs: BTreeMap::new(),
        env: env.clone(),
    };
    let accounts = Value::List(vec![Value::List(vec![
        Value::Int(0),
        Value::Int(0),
        Value::map([("name", Value::str("Current"))]),
    ])]);
    call_generic(
        &registry,
        &mut conn,
        &call("create", vec![Value::map([("name", Value::str("Deep")), ("account_online_account_ids", accounts)])]),
    )
    .unwrap();
    for domain in deepest_accepted() {
        let count = call_generic(&registry, &mut conn, &call("search_count", vec![domain.clone()]))
            .unwrap_or_else(|e| panic!("{} on {url:?}", e.message()));
        assert_eq!(count.as_i64(), Some(1), "{url:?}");
    }
}

#[test]
fn the_deepest_accepted_domain_runs_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("bb-domain-depth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    run_deepest(DatabaseUrl::parse(dir.join("d.db").to_str().unwrap()).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_deepest_accepted_domain_runs_on_postgres() {
    let Ok(admin) = std::env::var("BANKBRIDGE_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must provide BANKBRIDGE_TEST_POSTGRES_URL");
        eprintln!("skipped: BANKBRIDGE_TEST_POSTGRES_URL not set");
        return;
    };
    let name = format!("bb_domain_depth_{}", std::process::id());
    let status = std::process::Command::new("psql")
        .args([admin.as_str(), "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(status.success());
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    run_deepest(DatabaseUrl::parse(&url).unwrap());
}
