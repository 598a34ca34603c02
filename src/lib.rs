//! bankbridge: Odoo 17's external API (XML-RPC and JSON-RPC) over models that mirror Odoo's online bank
//! synchronization, backed by Salt Edge.
//!
//! Layout: `rpc` (wire protocol: codecs, faults, services, routes) → `orm` (registry, domains, generic
//! methods) → `models` (the exposed models) → `db` (pool, schema, migrations); `auth` (users and keys),
//! `server` (start-up), and the CLI in `main.rs`.

pub mod app;
pub mod auth;
pub mod db;
pub mod error;
pub mod html;
pub mod models;
pub mod orm;
pub mod rpc;
pub mod saltedge;
pub mod sandbox;
pub mod server;
pub mod sync;
pub mod types;
