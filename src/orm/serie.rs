//! Which Odoo's ORM semantics a call gets. The entry point chooses once: Odoo 19's JSON-2 API answers as
//! Odoo 19's ORM does, XML-RPC, JSON-RPC and the `/web` routes as Odoo 17's.

/// The Odoo series whose ORM semantics (domains, order) a call follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OdooSerie {
    /// Odoo 17: `/xmlrpc`, `/xmlrpc/2`, `/jsonrpc`, `/web/dataset/call_kw`.
    #[default]
    V17,
    /// Odoo 19: `/json/2`.
    V19,
}
