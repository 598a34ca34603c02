//! The wire protocol: XML-RPC (dxr) and JSON-RPC codecs, Odoo's fault mapping, the `common`/`db`/`object`
//! services, and the HTTP routes that carry them.

pub mod fault;
pub mod http;
pub mod jsonrpc;
mod methodcall;
pub mod services;
pub mod xmlrpc;
