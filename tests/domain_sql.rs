//! The domain compiler against a real database: random domains over random rows must select exactly the
//! rows the in-memory evaluator (the reference semantics) selects, on SQLite and, when
//! BANKBRIDGE_TEST_POSTGRES_URL is set, on PostgreSQL; and the deepest domains the parser accepts run on
//! both (issue 24: 34 nested `any` used to fail on SQLite with "Expression tree is too large", and 60 cost
//! PostgreSQL 4 s of planning, because each `any` restarted the depth count).

use std::collections::BTreeMap;

use bankbridge::db::{self, DatabaseUrl};
use bankbridge::orm::domain::{Domain, MAX_DOMAIN_DEPTH, MAX_RELATIONAL_DEPTH};
use bankbridge::orm::methods::call_generic;
use bankbridge::orm::{Call, Env, OdooSerie};
use bankbridge::types::Value;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const NAMES: &[&str] = &["Alpha Bank", "alpha", "Beta_50%", "Zürich Kantonalbank", "", "b%a"];
const CURRENCIES: &[&str] = &["EUR", "USD", "CHF"];

fn random_value(rng: &mut StdRng, field: &str) -> Value {
    if rng.random_bool(0.15) {
        return Value::Bool(false);
    }
    match field {
        "name" => Value::str(NAMES[rng.random_range(0..NAMES.len())]),
        "currency_code" => Value::str(CURRENCIES[rng.random_range(0..CURRENCIES.len())]),
        "journal_id" => Value::Int(rng.random_range(0..5)),
        "inverse_transaction_sign" => Value::Bool(rng.random_bool(0.5)),
        "last_sync" => Value::str(format!("2024-0{}-1{}", rng.random_range(1..10), rng.random_range(0..10))),
        _ => Value::Bool(false),
    }
}

fn random_leaf(rng: &mut StdRng) -> Value {
    let fields = ["name", "currency_code", "journal_id", "inverse_transaction_sign", "last_sync"];
    let field = fields[rng.random_range(0..fields.len())];
    let ops: &[&str] = match field {
        "name" | "currency_code" => {
            &["=", "!=", "like", "ilike", "not like", "not ilike", "=like", "=ilike", "in", "not in", "<", ">="]
        }
        "inverse_transaction_sign" => &["=", "!="],
        _ => &["=", "!=", "<", "<=", ">", ">=", "in", "not in"],
    };
    let op = ops[rng.random_range(0..ops.len())];
    let value = if op.contains("in") && !op.contains("like") {
        Value::List((0..rng.random_range(0..4)).map(|_| random_value(rng, field)).collect())
    } else if op.contains("like") && field == "name" {
        Value::str(["a", "%", "_", "bank", "B%", "ü", "50%"][rng.random_range(0..7)])
    } else {
        random_value(rng, field)
    };
    Value::List(vec![Value::str(field), Value::str(op), value])
}

fn random_domain(rng: &mut StdRng, depth: u32) -> Vec<Value> {
    if depth == 0 || rng.random_bool(0.4) {
        return vec![random_leaf(rng)];
    }
    match rng.random_range(0..3) {
        0 => vec![Value::str("!")].into_iter().chain(random_domain(rng, depth - 1)).collect(),
        1 => [vec![Value::str("|")], random_domain(rng, depth - 1), random_domain(rng, depth - 1)].concat(),
        _ => [random_domain(rng, depth - 1), random_domain(rng, depth - 1)].concat(),
    }
}

fn call(method: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Call {
    Call {
        model: "account.online.account",
        method: method.to_string(),
        args,
        kwargs: kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        env: Env::new(1, 1, BTreeMap::new(), OdooSerie::V17),
    }
}

fn check_backend(url: DatabaseUrl) {
    let pool = db::connect(&url, 2).expect("database");
    let mut conn = pool.get().expect("connection");
    let registry = bankbridge::models::registry();
    let company = bankbridge::auth::ensure_company(&mut conn, "Domain Test Co").unwrap();
    let env_call = |c: Call| Call { env: Env { company_id: company, ..c.env }, ..c };
    let link = call_generic(
        &registry,
        &mut conn,
        &Call {
            model: "account.online.link",
            ..env_call(call("create", vec![Value::map([("name", Value::str("L"))])], vec![]))
        },
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(17);
    let mut rows = Vec::new();
    for i in 0..60 {
        let mut vals: BTreeMap<String, Value> = BTreeMap::new();
        for f in ["name", "currency_code", "journal_id", "inverse_transaction_sign", "last_sync"] {
            vals.insert(f.to_string(), random_value(&mut rng, f));
        }
        if vals["name"].is_null() {
            vals.insert("name".into(), Value::str(format!("row {i}")));
        }
        vals.insert("account_online_link_id".into(), link.clone());
        let id = call_generic(&registry, &mut conn, &env_call(call("create", vec![Value::Map(vals.clone())], vec![])))
            .unwrap()
            .as_i64()
            .unwrap();
        // As in Odoo, an integer written as False is stored as 0 (only a never-set integer is NULL).
        if vals["journal_id"].is_null() {
            vals.insert("journal_id".into(), Value::Int(0));
        }
        rows.push((id, vals));
    }
    let model = registry.model("account.online.account").unwrap();
    for round in 0..400 {
        let domain = Value::List(random_domain(&mut rng, 3));
        let parsed = Domain::parse(&domain).unwrap();
        let mut expected: Vec<i64> = rows
            .iter()
            .filter(|(_, vals)| {
                parsed
                    // Stored values: NULL stays NULL (read() would show an empty integer as 0).
                    .matches(model, &|f| Some(vals.get(f).cloned().unwrap_or(Value::Bool(false))))
                    .unwrap()
            })
            .map(|(id, _)| *id)
            .collect();
        expected.sort_unstable();
        let found = call_generic(
            &registry,
            &mut conn,
            &env_call(call("search", vec![domain.clone()], vec![("order", Value::str("id"))])),
        )
        .unwrap();
        let mut found: Vec<i64> = found.as_list().unwrap().iter().filter_map(Value::as_i64).collect();
        found.retain(|id| rows.iter().any(|(r, _)| r == id));
        assert_eq!(found, expected, "round {round}: domain {domain:?} on {url:?}");

        // Read with Odoo 19's semantics (JSON-2), the compiler still selects what the evaluator selects.
        let odoo19 = parsed.clone().for_serie(OdooSerie::V19, &registry, model);
        let mut odoo19_call = env_call(call("search", vec![domain.clone()], vec![("order", Value::str("id"))]));
        odoo19_call.env.serie = OdooSerie::V19;
        let found19 = call_generic(&registry, &mut conn, &odoo19_call);
        match odoo19 {
            Ok(odoo19) => {
                let mut expected19: Vec<i64> = rows
                    .iter()
                    .filter(|(_, vals)| {
                        odoo19.matches(model, &|f| Some(vals.get(f).cloned().unwrap_or(Value::Bool(false)))).unwrap()
                    })
                    .map(|(id, _)| *id)
                    .collect();
                expected19.sort_unstable();
                let found19 = found19.unwrap();
                let mut found19: Vec<i64> = found19.as_list().unwrap().iter().filter_map(Value::as_i64).collect();
                found19.retain(|id| rows.iter().any(|(r, _)| r == id));
                assert_eq!(found19, expected19, "round {round}: domain {domain:?} for Odoo 19 on {url:?}");
            }
            Err(e) => assert_eq!(found19.unwrap_err().message(), e.message(), "round {round}: {domain:?}"),
        }

        // search_read runs as one query; it must answer exactly what read(search(...)) answers.
        let order = ["id", "name desc", "currency_code, journal_id desc", "last_sync desc, name"][round % 4];
        let paging = vec![
            ("offset", Value::Int(rng.random_range(0..4))),
            ("limit", Value::Int(rng.random_range(0..25))),
            ("order", Value::str(order)),
        ];
        let ids = call_generic(&registry, &mut conn, &env_call(call("search", vec![domain.clone()], paging.clone())))
            .unwrap();
        let via_read = call_generic(&registry, &mut conn, &env_call(call("read", vec![ids], vec![]))).unwrap();
        let direct =
            call_generic(&registry, &mut conn, &env_call(call("search_read", vec![domain.clone()], paging))).unwrap();
        assert_eq!(direct, via_read, "round {round}: search_read of {domain:?} ({order}) on {url:?}");
        let Value::Records(records) = &direct else { panic!("not records: {direct:?}") };
        let mut names = records.names().to_vec();
        assert_eq!(names.first(), Some(&"id"));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), records.names().len(), "a member twice in {direct:?}");
        assert!(
            records.iter().all(|values| values.count() == names.len()),
            "a record without all its members: {direct:?}"
        );
    }
}

#[test]
fn sqlite_selects_what_the_evaluator_selects() {
    check_backend(sqlite_database("domain"));
}

/// A fresh PostgreSQL database `{prefix}_{pid}` on the suite's server, or `None` (skipped) outside CI
/// without one.
fn postgres_database(prefix: &str) -> Option<DatabaseUrl> {
    let Ok(admin) = std::env::var("BANKBRIDGE_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must provide BANKBRIDGE_TEST_POSTGRES_URL");
        eprintln!("skipped: BANKBRIDGE_TEST_POSTGRES_URL not set");
        return None;
    };
    let name = format!("{prefix}_{}", std::process::id());
    let status = std::process::Command::new("psql")
        .args([admin.as_str(), "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(status.success());
    Some(DatabaseUrl::parse(&format!("{}/{name}", admin.rsplit_once('/').unwrap().0)).unwrap())
}

fn sqlite_database(name: &str) -> DatabaseUrl {
    let dir = std::env::temp_dir().join(format!("bb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    DatabaseUrl::parse(dir.join("d.db").to_str().unwrap()).unwrap()
}

#[test]
fn postgres_selects_what_the_evaluator_selects() {
    if let Some(url) = postgres_database("bb_domain") {
        check_backend(url);
    }
}

// -- depth ------------------------------------------------------------------------------------------

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

fn run_deepest(url: DatabaseUrl) {
    let pool = db::connect(&url, 2).expect("database");
    let mut conn = pool.get().expect("connection");
    let registry = bankbridge::models::registry();
    let company = bankbridge::auth::ensure_company(&mut conn, "Depth Co").unwrap();
    let env = Env::new(1, company, BTreeMap::new(), OdooSerie::V17);
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
fn the_deepest_accepted_domains_run_on_sqlite() {
    run_deepest(sqlite_database("domain-depth"));
}

#[test]
fn the_deepest_accepted_domains_run_on_postgres() {
    if let Some(url) = postgres_database("bb_domain_depth") {
        run_deepest(url);
    }
}
