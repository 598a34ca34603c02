//! bankbridge: Odoo 17's external API (XML-RPC and JSON-RPC) over models that mirror Odoo's online bank
//! synchronization, backed by Salt Edge.
//!
//! Layers, top to bottom. A module imports only from its own layer and the layers below it; test code may
//! import anything. `scripts/check_layers.py` holds the same table and fails (`cargo test --test layers`,
//! `tests/run.sh`) on any import that runs back up.
//!
//! 1. start-up: the CLI (`main.rs`) and `server`, which builds the `App` from its parts (pool,
//!    `models::registry()`, the `Bank` that reaches Salt Edge or the sandbox, the Enable Banking `Bank`
//!    or its sandbox) and serves.
//! 2. `sandbox`: the built-in Salt Edge and Enable Banking emulators, reachable only from start-up and tests.
//! 3. wire: `rpc` (XML-RPC and JSON-RPC codecs, Odoo's faults, the `common`/`db`/`object` services, the
//!    routes, the access log) and the sync engine's HTTP face, `sync::web` (Salt Edge's callbacks and the
//!    return page).
//! 4. `models`: the exposed models (their fields, for the ORM) and their buttons, typed over `App`.
//! 5. `sync`: the online-synchronization flows behind the buttons, the scheduler, and their storage.
//! 6. `app`: the running bridge's shared state (pool, registry, authenticator, `Bank`).
//! 7. `orm` (model descriptions, registry, domains, generic methods), `auth` (users and API keys),
//!    `bank` (how the bridge reaches its aggregators and follows attempts), `saltedge` (the Salt Edge v6
//!    client), `enablebanking` (the Enable Banking client), and what the two clients share on the wire
//!    (`aggregator_http`).
//! 8. `db`: storage (pool, schema, migrations).
//! 9. neutral: `types` (`Value`, link states and their one transition function, transaction statuses,
//!    timestamps, client addresses), `html`, `error`, `metrics` (the Prometheus registry every layer
//!    records into).

// Start-up
pub mod server;
// Salt Edge emulator
pub mod sandbox;
// Wire
pub mod rpc;
// Models and their buttons
pub mod models;
// Sync engine
pub mod sync;
// Shared running state
pub mod app;
// ORM, users, the bank aggregators (their clients, and how the bridge reaches them)
pub mod aggregator_http;
pub mod auth;
pub mod bank;
pub mod enablebanking;
pub mod orm;
pub mod saltedge;
// Storage
pub mod db;
// Neutral
pub mod error;
pub mod html;
pub mod metrics;
pub mod types;
