//! Benchmark aids used by `scripts/bench_load.sh` and `scripts/bench_sync.sh` (not part of the product).
//! Run without a subcommand (as `cargo bench` does) it does nothing.
//!
//! * `ceiling-server --body FILE [--workers N] [--content-type TYPE]`: an actix-web server built like `bankbridge serve`
//!   (same actix-web, same worker count, same request-body limit) whose every POST answers the bytes
//!   of FILE: the framework ceiling for a response the bridge computes.
//! * `encode --json FILE [--iterations N]`: times `xmlrpc::write_response` (`encode_response` without dropping its input) on the records of FILE
//!   (JSON), the data Python's `xmlrpc.client.dumps` is timed on.
//! * `store-ceiling --database URL --rows N`: stores N sandbox transactions (two accounts, pages of
//!   1,000) through `store::transactions::store_posted_page` with no HTTP: the ceiling of a sync.
//! * `search-read --database URL [--iterations N]`: the load script's `search_read` of 80 accounts in
//!   process (as the criterion bench `search_read_80_accounts/orm_sqlite`), N times after one warm-up
//!   call, for instruction counts under `valgrind --tool=callgrind`, which stay comparable on a busy box.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bankbridge::rpc::xmlrpc;
use bankbridge::sync::store;
use bankbridge::types::Value;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ceiling-server") => ceiling_server(&args),
        Some("encode") => encode(&args),
        Some("store-ceiling") => store_ceiling(&args),
        Some("search-read") => search_read(&args),
        _ => eprintln!(
            "bench_aid: helper for scripts/bench_*.sh (subcommands: ceiling-server, encode, store-ceiling, search-read)"
        ),
    }
}

fn ceiling_server(args: &[String]) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let path = arg(args, "--body").expect("--body FILE");
    let body = web::Bytes::from(std::fs::read(&path).expect("read --body"));
    // The type of the answer it stands for: XML-RPC's by default, `application/json` for JSON-2's.
    let content_type = actix_web::http::header::HeaderValue::from_str(
        &arg(args, "--content-type").unwrap_or_else(|| "text/xml; charset=utf-8".to_string()),
    )
    .expect("--content-type");
    let workers = arg(args, "--workers")
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let local = listener.local_addr().expect("address");
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let (body, content_type) = (body.clone(), content_type.clone());
            App::new().app_data(web::PayloadConfig::new(4 * 1024 * 1024)).default_service(web::to(
                move |request: web::Bytes| {
                    let (body, content_type) = (body.clone(), content_type.clone());
                    async move {
                        std::hint::black_box(request);
                        HttpResponse::Ok().content_type(content_type).body(body)
                    }
                },
            ))
        })
        .workers(workers)
        .listen(listener)
        .expect("listen");
        println!("listening on http://{local}");
        server.run().await.expect("serve");
    });
}

fn encode(args: &[String]) {
    let path = arg(args, "--json").expect("--json FILE");
    let iterations: usize = arg(args, "--iterations").and_then(|n| n.parse().ok()).unwrap_or(20);
    let text = std::fs::read_to_string(&path).expect("read --json");
    let value = Value::from_json(serde_json::from_str(&text).expect("json"));
    let mut times = Vec::with_capacity(iterations);
    let mut bytes = 0;
    for _ in 0..iterations {
        let started = Instant::now();
        let xml = xmlrpc::write_response(&value);
        times.push(started.elapsed());
        bytes = xml.len();
        drop(xml);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "rust_encode best_s={:.6} median_s={:.6} bytes={bytes} iterations={iterations}",
        times[0].as_secs_f64(),
        median.as_secs_f64()
    );
}

fn store_ceiling(args: &[String]) {
    let url = arg(args, "--database").expect("--database URL");
    let rows: u64 = arg(args, "--rows").and_then(|n| n.parse().ok()).expect("--rows N");
    let pool = common::open(&url);
    let mut conn = pool.get().expect("connection");
    let tag = std::process::id();
    let mut stored = 0;
    let mut busy = Duration::ZERO;
    let started = Instant::now();
    for part in 0..2u64 {
        let (account, company) = common::account(&mut conn, &format!("ceiling-{tag}-{part}"));
        let per_account = rows / 2 + if part == 0 { rows % 2 } else { 0 };
        let shape = common::shape(1_000 + account.id as u64, per_account);
        let mut next = 0;
        while next < per_account {
            let n = (per_account - next).min(1000);
            let page = common::transactions(&shape, next, n);
            next += n;
            let cursor = page.last().map(|t| t.id.clone());
            let t = Instant::now();
            let records =
                bankbridge::sync::saltedge_records::transactions(&page, bankbridge::types::TransactionStatus::Posted)
                    .expect("mapped");
            stored += store::transactions::store_posted_page(&mut conn, &account, company, &records, cursor.as_deref())
                .expect("stored");
            busy += t.elapsed();
        }
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "store_ceiling rows={stored} storage_s={:.2} rows_per_s={:.0} wall_s={wall:.2} (wall includes generating the rows)",
        busy.as_secs_f64(),
        stored as f64 / busy.as_secs_f64()
    );
}

fn search_read(args: &[String]) {
    use bankbridge::orm::methods::call_generic;
    let url = arg(args, "--database").expect("--database URL");
    let iterations: usize = arg(args, "--iterations").and_then(|n| n.parse().ok()).unwrap_or(100);
    let pool = common::open(&url);
    let mut conn = pool.get().expect("connection");
    let (registry, search_read) =
        common::search_read_80_fixture(&mut conn, &format!("search-read {}", std::process::id()));
    let first = call_generic(&registry, &mut conn, &search_read).expect("search_read");
    assert_eq!(first.list_len(), Some(80));
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(call_generic(&registry, &mut conn, &search_read).expect("search_read"));
    }
    println!(
        "search_read_80 iterations={iterations} mean_us={:.1}",
        started.elapsed().as_secs_f64() * 1e6 / iterations as f64
    );
}
