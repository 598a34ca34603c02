//! Criterion benchmarks of the hot paths: decoding a `methodCall` carrying a 1,000-term domain, encoding
//! a `search_read` response of 10,000 transactions, domain evaluation (parse + validate + SQL, and
//! in-memory matching), storing one page of 1,000 transactions in SQLite and PostgreSQL, and the work
//! of the load script's `search_read` of 80 accounts without HTTP (the query and records, the encoding).
//!
//! `cargo bench --bench hot_paths`; PostgreSQL runs when `BANKBRIDGE_BENCH_POSTGRES_URL` names a
//! database the benchmark may write to (e.g. one started with `tests/postgres.sh start DIR`).

#[path = "common/mod.rs"]
mod common;

use std::cell::Cell;
use std::time::Duration;

use bankbridge::db::Backend;
use bankbridge::orm::domain::Domain;
use bankbridge::orm::sql::Sql;
use bankbridge::rpc::xmlrpc;
use bankbridge::sync::store;
use bankbridge::types::Value;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn codec(c: &mut Criterion) {
    let body = common::search_read_call(common::domain(1000));
    let mut group = c.benchmark_group("xmlrpc");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("decode_methodCall_1000_term_domain", |b| {
        b.iter(|| xmlrpc::decode(std::hint::black_box(body.as_bytes())).expect("decodes"))
    });
    let records = common::search_read_records(10_000);
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function("encode_search_read_10000_transactions", |b| {
        b.iter(|| xmlrpc::write_response(std::hint::black_box(&records)))
    });
    group.finish();
}

fn domains(c: &mut Criterion) {
    let registry = bankbridge::models::registry();
    let model = registry.model("account.online.transaction").expect("model");
    let big = common::domain(1000);
    let mut group = c.benchmark_group("domain");
    group.bench_function("parse_validate_sql_1000_terms", |b| {
        b.iter(|| {
            let domain = Domain::parse(&big).expect("parses");
            domain.validate(&registry, model).expect("valid");
            let mut sql = Sql::new(Backend::Postgres);
            domain.to_sql(&registry, model, "t", &mut sql).expect("sql");
            sql.text().len()
        })
    });
    let small = Value::List(vec![
        Value::str("&"),
        Value::List(vec![Value::str("amount"), Value::str("<"), Value::Float(0.0)]),
        Value::str("|"),
        Value::List(vec![Value::str("payment_ref"), Value::str("ilike"), Value::str("card")]),
        Value::List(vec![Value::str("status"), Value::str("in"), Value::List(vec![Value::str("posted")])]),
    ]);
    let parsed = Domain::parse(&small).expect("parses");
    let Value::List(records) = common::search_read_records(10_000) else { unreachable!() };
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("matches_5_terms_over_10000_records", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|r| {
                    let Value::Map(m) = r else { return false };
                    parsed.matches(model, &|f| m.get(f).cloned()).expect("evaluates")
                })
                .count()
        })
    });
    group.finish();
}

fn page_insert(c: &mut Criterion, name: &str, url: &str) {
    let pool = common::open(url);
    let mut conn = pool.get().expect("connection");
    let (account, company) = common::account(&mut conn, &format!("{name}-{}", std::process::id()));
    // Every iteration stores 1,000 new rows (ids never repeat), as a sync does page after page.
    let shape = common::shape(account.id as u64 + 100, 500_000_000);
    let next = Cell::new(0u64);
    let mut group = c.benchmark_group("store_posted_page");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(format!("1000_transactions_{name}"), |b| {
        b.iter_batched(
            || {
                let rows = common::transactions(&shape, next.get(), 1000);
                next.set(next.get() + 1000);
                rows
            },
            |rows| {
                let cursor = rows.last().map(|t| t.id.clone());
                // Salt Edge's rows in the storage's terms, as a sync maps each page before storing it.
                let records = bankbridge::sync::saltedge_records::transactions(
                    &rows,
                    bankbridge::types::TransactionStatus::Posted,
                )
                .expect("mapped");
                let n =
                    store::transactions::store_posted_page(&mut conn, &account, company, &records, cursor.as_deref())
                        .expect("stored");
                assert_eq!(n, 1000);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The load script's `search_read` of 80 `account.online.account` records, in process: what a request
/// costs the bridge besides HTTP and the credential check.
fn search_read_80(c: &mut Criterion, dir: &std::path::Path) {
    use bankbridge::orm::methods::call_generic;
    let pool = common::open(dir.join("accounts.db").to_str().expect("utf-8 path"));
    let mut conn = pool.get().expect("connection");
    let (registry, search_read) = common::search_read_80_fixture(&mut conn, "Bench search_read");
    let response = call_generic(&registry, &mut conn, &search_read).expect("search_read");
    assert_eq!(response.list_len(), Some(80));

    let mut group = c.benchmark_group("search_read_80_accounts");
    group.bench_function("orm_sqlite", |b| b.iter(|| call_generic(&registry, &mut conn, &search_read).expect("read")));
    group.bench_function("encode", |b| b.iter(|| xmlrpc::write_response(&response)));
    group.finish();
}

fn storage(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("bankbridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    page_insert(c, "sqlite", dir.join("bench.db").to_str().expect("utf-8 path"));
    match std::env::var("BANKBRIDGE_BENCH_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => page_insert(c, "postgres", &url),
        _ => eprintln!("store_posted_page/1000_transactions_postgres skipped: set BANKBRIDGE_BENCH_POSTGRES_URL"),
    }
    search_read_80(c, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, codec, domains, storage);
criterion_main!(benches);
