//! Prometheus metrics of this process (`GET /metrics`, Prometheus text format 0.0.4), with the Prometheus
//! project's own Rust client (`prometheus-client`). Neutral: every layer records into the one registry here
//! (the wire its requests, `app` its waits for a database connection, the Salt Edge and Enable Banking
//! clients their calls, the sync engine its runs and rows); what is read from the database (links by state, the pool) is handed to
//! `render` by the route that serves them.
//!
//! Every label value is one of a fixed set (`&'static str` chosen by the code, never a client's text), so
//! the number of series stays bounded whatever clients send.

use std::sync::LazyLock;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::types::LinkState;

/// The `Content-Type` of `render`'s answer.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `xmlrpc`, `jsonrpc` (`/jsonrpc` and the `/web` session routes), `json2` (`/json/2`, `/doc-bearer`).
    pub protocol: &'static str,
    /// `service.method`, or the model method of an `object` call (`search_read`, `action_…`), or `other`.
    pub method: &'static str,
    /// `ok`, or the Odoo fault class: `error`, `user_error`, `access_denied`, `access_error`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    protocol: &'static str,
    method: &'static str,
}

/// One call to an aggregator's API (Salt Edge's, Enable Banking's), after retries.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The API resource: Salt Edge's `connections`, `accounts`, `transactions`, `customers`, `providers`,
    /// `consents`…; Enable Banking's `application`, `aspsps`, `auth`, `sessions`, `details`, `balances`,
    /// `transactions`; else `other`.
    pub resource: &'static str,
    /// `ok`, or the client's error kind (`ErrorKind::metric_label` of each client).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    db_wait_seconds: Histogram,
    db_connections: Family<PoolLabels, Gauge>,
    saltedge_calls: Family<CallLabels, Counter>,
    enablebanking_calls: Family<CallLabels, Counter>,
    sync_runs: Family<OutcomeLabels, Counter>,
    imported_transactions: Counter,
    links: Family<StateLabels, Gauge>,
}

/// 0.5 ms to about 33 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 17))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("bankbridge");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register("requests", "RPC requests answered, by protocol, method and outcome", requests.clone());
    let request_seconds: Family<LatencyLabels, Histogram, fn() -> Histogram> =
        Family::new_with_constructor(latency_histogram);
    registry.register("request_duration_seconds", "Time to answer an RPC request", request_seconds.clone());
    let db_wait_seconds = latency_histogram();
    registry.register(
        "db_wait_seconds",
        "Time a database task waited for a pooled connection slot",
        db_wait_seconds.clone(),
    );
    let db_connections = Family::<PoolLabels, Gauge>::default();
    registry.register(
        "db_connections",
        "Database connections of the pool (`blocking`) and of the HTTP workers' SQLite readers (`readers`), by state",
        db_connections.clone(),
    );
    let saltedge_calls = Family::<CallLabels, Counter>::default();
    registry.register(
        "saltedge_calls",
        "Salt Edge API calls (after retries), by resource and outcome",
        saltedge_calls.clone(),
    );
    let enablebanking_calls = Family::<CallLabels, Counter>::default();
    registry.register(
        "enablebanking_calls",
        "Enable Banking API calls (after retries), by resource and outcome",
        enablebanking_calls.clone(),
    );
    let sync_runs = Family::<OutcomeLabels, Counter>::default();
    registry.register("sync_runs", "Synchronizations of a link run to their end, by outcome", sync_runs.clone());
    for outcome in ["ok", "error"] {
        // Both series exist from the start, so a rate or an alert on errors has something to read.
        drop(sync_runs.get_or_create(&OutcomeLabels { outcome }));
    }
    let imported_transactions = Counter::default();
    registry.register(
        "imported_transactions",
        "Transactions stored by synchronizations (new posted rows and pending rows)",
        imported_transactions.clone(),
    );
    let links = Family::<StateLabels, Gauge>::default();
    registry.register("links", "Bank links (account.online.link) by state, all companies", links.clone());
    Metrics {
        registry,
        requests,
        request_seconds,
        db_wait_seconds,
        db_connections,
        saltedge_calls,
        enablebanking_calls,
        sync_runs,
        imported_transactions,
        links,
    }
});

/// One RPC request answered.
pub fn request(labels: RequestLabels, seconds: f64) {
    let latency = LatencyLabels { protocol: labels.protocol, method: labels.method };
    METRICS.requests.get_or_create(&labels).inc();
    METRICS.request_seconds.get_or_create(&latency).observe(seconds);
}

/// A database task waited `seconds` for its connection slot.
pub fn db_wait(seconds: f64) {
    METRICS.db_wait_seconds.observe(seconds);
}

/// One Salt Edge API call ended.
pub fn saltedge_call(labels: CallLabels) {
    METRICS.saltedge_calls.get_or_create(&labels).inc();
}

/// One Enable Banking API call ended.
pub fn enablebanking_call(labels: CallLabels) {
    METRICS.enablebanking_calls.get_or_create(&labels).inc();
}

/// A synchronization ran to its end (`ok`) or stopped with an error (`error`).
pub fn sync_run(ok: bool) {
    METRICS.sync_runs.get_or_create(&OutcomeLabels { outcome: if ok { "ok" } else { "error" } }).inc();
}

/// Transactions a synchronization stored.
pub fn imported(rows: usize) {
    METRICS.imported_transactions.inc_by(rows as u64);
}

/// The state of a connection pool when the metrics are read.
#[derive(Clone, Copy, Debug)]
pub struct PoolUse {
    pub name: &'static str,
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// The metrics as Prometheus text, with the pools' use and the links per state as read now (`None`: the
/// links could not be counted; their gauges are left out rather than shown stale).
pub fn render(pools: &[PoolUse], links: Option<&[(LinkState, i64)]>) -> String {
    for pool in pools {
        let set = |state, value: u32| {
            METRICS.db_connections.get_or_create(&PoolLabels { pool: pool.name, state }).set(i64::from(value));
        };
        set("max", pool.max);
        set("in_use", pool.open.saturating_sub(pool.idle));
        set("idle", pool.idle);
    }
    METRICS.links.clear();
    if let Some(counts) = links {
        for state in LinkState::ALL {
            let count = counts.iter().filter(|(s, _)| *s == state).map(|(_, n)| *n).sum();
            METRICS.links.get_or_create(&StateLabels { state: state.as_str() }).set(count);
        }
    }
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &METRICS.registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_come_out_in_the_text_format() {
        request(RequestLabels { protocol: "xmlrpc", method: "search_read", outcome: "ok" }, 0.003);
        saltedge_call(CallLabels { resource: "connections", outcome: "retry_later" });
        enablebanking_call(CallLabels { resource: "sessions", outcome: "ok" });
        sync_run(true);
        imported(42);
        let pools = [PoolUse { name: "blocking", max: 8, open: 3, idle: 1 }];
        let text = render(&pools, Some(&[(LinkState::Connected, 5), (LinkState::Error, 1)]));
        for line in [
            r#"bankbridge_requests_total{protocol="xmlrpc",method="search_read",outcome="ok"} "#,
            r#"bankbridge_request_duration_seconds_bucket{protocol="xmlrpc",method="search_read",le="0.004"} "#,
            r#"bankbridge_saltedge_calls_total{resource="connections",outcome="retry_later"} "#,
            r#"bankbridge_enablebanking_calls_total{resource="sessions",outcome="ok"} "#,
            r#"bankbridge_sync_runs_total{outcome="ok"} "#,
            r#"bankbridge_db_connections{pool="blocking",state="in_use"} 2"#,
            r#"bankbridge_links{state="connected"} 5"#,
            r#"bankbridge_links{state="fetching"} 0"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(text.contains("bankbridge_imported_transactions_total "), "{text}");
        // Links that could not be counted are left out, not shown stale.
        assert!(!render(&pools, None).contains("bankbridge_links{"));
    }
}
