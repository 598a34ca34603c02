//! Shared fixtures for the benchmarks: sandbox-generated transactions, a company/link/account to store
//! them under, `search_read`-shaped records and large domains.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bankbridge::db::{self, AnyConnection, DatabaseUrl};
use bankbridge::saltedge::Transaction;
use bankbridge::sandbox::data::{transaction_json, AccountShape, Row};
use bankbridge::sync::store::{self, AccountRow};
use bankbridge::types::Value;
use diesel::connection::SimpleConnection;

/// A sandbox account able to generate `rows` posted transactions (deterministic, as the sandbox serves them).
pub fn shape(seq: u64, rows: u64) -> AccountShape {
    AccountShape::new(
        format!("{}", 7_000_000_000_000_000_000u64 + seq),
        seq,
        "EUR".to_string(),
        chrono::NaiveDate::from_ymd_opt(2026, 1, 31).expect("date"),
        rows,
        0,
    )
}

/// Posted rows `start..start + n` of `shape`, decoded as the sync engine decodes a page.
pub fn transactions(shape: &AccountShape, start: u64, n: u64) -> Vec<Transaction> {
    (start..start + n)
        .map(|i| {
            let json = transaction_json(shape, Row::Posted(i), "2026-01-31T10:00:00Z");
            serde_json::from_value(json).expect("sandbox transaction decodes")
        })
        .collect()
}

/// Opens (and migrates) a database.
pub fn open(url: &str) -> db::DbPool {
    db::connect(&DatabaseUrl::parse(url).expect("database url"), 2).expect("open database")
}

/// A company, a link and one account to store transactions under; returns the account and company.
pub fn account(conn: &mut AnyConnection, tag: &str) -> (AccountRow, i64) {
    let company = bankbridge::auth::ensure_company(conn, &format!("Bench {tag}")).expect("company");
    let link = store::links::create(
        conn,
        store::NewLink {
            provider: bankbridge::types::Provider::SaltEdge,
            company_id: company,
            name: "bench link",
            institution_id: None,
            provider_code: "fakebank_simple_xf",
            email: "bench@example.com",
            phone: None,
        },
    )
    .expect("link");
    conn.batch_execute(&format!(
        "INSERT INTO online_accounts (name, online_identifier, account_online_link_id, company_id) \
         VALUES ('bench {tag}', 'online-{tag}', {link}, {company})"
    ))
    .expect("account");
    let account = store::accounts::of_link(conn, link).expect("accounts").pop().expect("one account");
    (account, company)
}

/// `n` records shaped like `search_read` of `account.online.transaction` (all fields, classic load).
pub fn search_read_records(n: usize) -> Value {
    let shape = shape(1, n as u64);
    let rows = transactions(&shape, 0, n as u64);
    Value::List(
        rows.iter()
            .enumerate()
            .map(|(i, t)| {
                let mut m = BTreeMap::new();
                let id = i as i64 + 1;
                m.insert("id".to_string(), Value::Int(id));
                m.insert("online_transaction_identifier".to_string(), Value::str(t.id.as_str()));
                m.insert("date".to_string(), Value::str(t.made_on.as_str()));
                m.insert("amount".to_string(), Value::Float(t.amount));
                m.insert("currency_code".to_string(), Value::str(t.currency_code.as_str()));
                m.insert("payment_ref".to_string(), Value::str(t.description.as_str()));
                m.insert("partner_name".to_string(), t.extra.payee.clone().into());
                m.insert("account_number".to_string(), t.extra.account_number.clone().into());
                m.insert("status".to_string(), Value::str("posted"));
                m.insert(
                    "online_account_id".to_string(),
                    Value::List(vec![Value::Int(3), Value::str("Checking account")]),
                );
                m.insert("raw_data".to_string(), Value::str(serde_json::to_string(t).expect("json")));
                m.insert("company_id".to_string(), Value::List(vec![Value::Int(1), Value::str("My Company")]));
                m.insert("create_date".to_string(), Value::str("2026-01-31 10:00:00"));
                m.insert("display_name".to_string(), Value::str(t.description.as_str()));
                Value::Map(m)
            })
            .collect(),
    )
}

/// A domain on `account.online.transaction` with `terms` leaves: pairs joined by `|`, the pairs joined
/// by Odoo's implicit `&` (shallow, as generated domains are).
pub fn domain(terms: usize) -> Value {
    let mut items = Vec::with_capacity(terms * 2);
    for i in 0..terms {
        if i % 2 == 0 && i + 1 < terms {
            items.push(Value::str("|"));
        }
        let leaf = match i % 5 {
            0 => vec![Value::str("amount"), Value::str(">"), Value::Float(i as f64 * 1.5)],
            1 => vec![Value::str("payment_ref"), Value::str("ilike"), Value::str(format!("shop {i}"))],
            2 => vec![Value::str("status"), Value::str("="), Value::str("posted")],
            3 => vec![
                Value::str("date"),
                Value::str("<="),
                Value::str(format!("2025-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
            ],
            _ => vec![
                Value::str("online_account_id"),
                Value::str("in"),
                Value::List(vec![Value::Int(i as i64), Value::Int(3)]),
            ],
        };
        items.push(Value::List(leaf));
    }
    Value::List(items)
}

/// The XML body Python's `xmlrpc.client` sends for `execute_kw(db, uid, key, model, 'search_read', [domain], kwargs)`.
pub fn search_read_call(domain: Value) -> String {
    let params = vec![
        Value::str("bankbridge"),
        Value::Int(2),
        Value::str("0123456789abcdef0123456789abcdef01234567"),
        Value::str("account.online.transaction"),
        Value::str("search_read"),
        Value::List(vec![domain]),
        Value::map([("limit", Value::Int(80))]),
    ];
    let call =
        dxr::MethodCall { name: "execute_kw".into(), params: params.into_iter().map(Value::into_xmlrpc).collect() };
    format!("<?xml version='1.0'?>\n{}", call.to_xml().expect("xml"))
}

/// The load script's `search_read` of 80 `account.online.account` records: creates them in a new company
/// of the database, and returns the registry and the call that reads them.
pub fn search_read_80_fixture(
    conn: &mut AnyConnection,
    company_name: &str,
) -> (bankbridge::orm::Registry, bankbridge::orm::Call) {
    use bankbridge::orm::methods::call_generic;
    use bankbridge::orm::{Call, Env, OdooSerie};
    let company = bankbridge::auth::ensure_company(conn, company_name).expect("company");
    let registry = bankbridge::models::registry();
    let call = |model: &'static str, method: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>| Call {
        model,
        method: method.to_string(),
        args,
        kwargs: kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        env: Env::new(1, company, Default::default(), OdooSerie::V17),
    };
    let new_link = call("account.online.link", "create", vec![Value::map([("name", Value::str("Bench"))])], vec![]);
    let link = call_generic(&registry, conn, &new_link).expect("link");
    let accounts = (1..=80)
        .map(|i| {
            Value::map([
                ("name", Value::str(format!("Account {i:02}"))),
                ("account_number", Value::str(format!("XF{i:020}"))),
                ("currency_code", Value::str("EUR")),
                ("account_online_link_id", link.clone()),
                ("journal_id", Value::Int(i)),
            ])
        })
        .collect();
    let new_accounts = call("account.online.account", "create", vec![Value::List(accounts)], vec![]);
    call_generic(&registry, conn, &new_accounts).expect("accounts");
    let search_read =
        call("account.online.account", "search_read", vec![Value::List(vec![])], vec![("limit", Value::Int(80))]);
    (registry, search_read)
}
