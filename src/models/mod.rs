//! Every model the bridge exposes, registered in one place. Each model is data (its fields) plus the few
//! methods of its own; the generic ORM methods come from `crate::orm::methods`.

mod base;
mod institution;
pub(crate) mod link;
mod online_account;
mod transaction;

use crate::orm::{Field, FieldType, Registry};

pub use link::LINK_STATES;

pub fn registry() -> Registry {
    Registry::new(vec![
        base::res_company(),
        base::res_users(),
        base::ir_model(),
        institution::model(),
        link::model(),
        online_account::model(),
        transaction::model(),
    ])
}

/// The create/write timestamps every stored business model carries, as in Odoo.
fn audit_fields() -> [Field; 2] {
    [
        Field::new("create_date", "Created on", FieldType::Datetime).readonly(),
        Field::new("write_date", "Last Updated on", FieldType::Datetime).readonly(),
    ]
}
