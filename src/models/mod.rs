//! Every model the bridge exposes, registered in one place. Each model is data (its fields, for the ORM)
//! plus the few methods of its own (buttons, typed here over the running `App`); the generic methods
//! (`search`, `write`, …) come from `crate::orm::methods`.

mod actions;
mod base;
mod institution;
mod link;
mod online_account;
mod transaction;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::app::App;
use crate::error::Result;
use crate::orm::signature::Signature;
use crate::orm::{Call, Field, FieldType, Registry};
use crate::types::Value;

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

/// A model's own public method (a button). It receives the whole call and the running bridge, so it may
/// talk to Salt Edge.
pub type Button = fn(Arc<App>, Call) -> ButtonFuture;
pub type ButtonFuture = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// Each model's buttons with their signatures, by model name; generic method names are taken first, so
/// none is listed here.
const BUTTONS: &[(&str, &[(Signature, Button)])] = &[
    ("res.users", base::USER_BUTTONS),
    ("account.online.institution", institution::BUTTONS),
    ("account.online.link", link::BUTTONS),
];

/// `method` as the bridge spells it when some model serves it (a generic method or a button), for a label
/// that stays one of a fixed set whatever a client sends.
pub fn known_method(method: &str) -> Option<&'static str> {
    let generic = crate::orm::access::GENERIC_METHODS.iter().map(|(name, _)| *name);
    let buttons = BUTTONS.iter().flat_map(|(_, buttons)| buttons.iter().map(|(signature, _)| signature.name));
    generic.chain(buttons).find(|name| *name == method)
}

/// The button `method` of `model`, if it has one.
pub fn button(model: &str, method: &str) -> Option<Button> {
    buttons(model).iter().find(|(signature, _)| signature.name == method).map(|(_, button)| *button)
}

/// The buttons of `model` with their signatures (JSON-2 binds calls to them, `/doc` lists them).
pub fn buttons(model: &str) -> &'static [(Signature, Button)] {
    BUTTONS.iter().find(|(name, _)| *name == model).map_or(&[], |(_, buttons)| *buttons)
}

/// The hook run before the generic `unlink` deletes rows of `model`.
pub fn before_unlink(model: &str) -> Option<Button> {
    match model {
        "account.online.link" => Some(link::before_unlink),
        _ => None,
    }
}

/// The create/write timestamps every stored business model carries, as in Odoo.
fn audit_fields() -> [Field; 2] {
    [
        Field::new("create_date", "Created on", FieldType::Datetime).readonly(),
        Field::new("write_date", "Last Updated on", FieldType::Datetime).readonly(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orm::access::generic_operation;

    #[test]
    fn buttons_belong_to_registered_models_and_shadow_no_generic_method() {
        let registry = registry();
        for (model, buttons) in BUTTONS {
            assert!(registry.model(model).is_ok(), "buttons of unknown model {model}");
            for (signature, _) in *buttons {
                let name = signature.name;
                assert!(generic_operation(name).is_none(), "{model}.{name} is a generic method");
                assert!(button(model, name).is_some());
            }
        }
        assert!(before_unlink("account.online.link").is_some());
        assert!(button("account.online.link", "search").is_none());
        assert!(button("res.partner", "context_get").is_none());
    }
}
