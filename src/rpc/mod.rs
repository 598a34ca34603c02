//! The wire protocol: XML-RPC (dxr), JSON-RPC and JSON-2 codecs, Odoo's fault mapping, the
//! `common`/`db`/`object` services, the HTTP routes that carry them (`http`, the browser's `web` routes and
//! Odoo 19's `json2` with its `doc` listing), the access log (with the request metrics) written once for
//! all of them (`access`), and the operator's routes (`ops`).

pub mod access;
pub mod answer;
pub mod doc;
pub mod fault;
pub mod http;
pub mod json2;
pub mod jsonrpc;
mod methodcall;
pub mod ops;
pub mod services;
pub mod web;
pub mod xmlrpc;
