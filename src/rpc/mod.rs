//! The wire protocol: XML-RPC (dxr) and JSON-RPC codecs, Odoo's fault mapping, the `common`/`db`/`object`
//! services, the HTTP routes that carry them (`http`, and the browser's `web` routes), and the access
//! log written once for all of them (`access`).

pub mod access;
pub mod answer;
pub mod fault;
pub mod http;
pub mod jsonrpc;
mod methodcall;
pub mod services;
pub mod web;
pub mod xmlrpc;
