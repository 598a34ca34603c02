//! Access checks: which operation each generic method needs, and whether a model allows it (Odoo's
//! `ir.model.access` for the bridge's one user group).

use crate::error::{Error, Result};
use crate::orm::model::Model;

/// The generic methods by name, with the operation they need (for access checks).
pub const GENERIC_METHODS: &[(&str, Operation)] = &[
    ("search", Operation::Read),
    ("search_count", Operation::Read),
    ("read", Operation::Read),
    ("search_read", Operation::Read),
    ("name_search", Operation::Read),
    ("name_get", Operation::Read),
    ("exists", Operation::Read),
    ("fields_get", Operation::None),
    ("check_access_rights", Operation::None),
    ("default_get", Operation::None),
    ("create", Operation::Create),
    ("write", Operation::Write),
    ("unlink", Operation::Unlink),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    None,
    Read,
    Write,
    Create,
    Unlink,
}

impl Operation {
    pub(crate) fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "read" => Operation::Read,
            "write" => Operation::Write,
            "create" => Operation::Create,
            "unlink" => Operation::Unlink,
            _ => return None,
        })
    }
}

pub fn generic_operation(method: &str) -> Option<Operation> {
    GENERIC_METHODS.iter().find(|(n, _)| *n == method).map(|(_, op)| *op)
}

pub(crate) fn allowed(model: &Model, op: Operation) -> bool {
    match op {
        Operation::None => true,
        Operation::Read => model.access.read,
        Operation::Write => model.access.write,
        Operation::Create => model.access.create,
        Operation::Unlink => model.access.unlink,
    }
}

pub fn check_access(model: &Model, op: Operation) -> Result<()> {
    if allowed(model, op) {
        return Ok(());
    }
    let verb = match op {
        Operation::Write => "modify",
        Operation::Create => "create",
        Operation::Unlink => "delete",
        _ => "access",
    };
    Err(Error::access(format!(
        "You are not allowed to {verb} '{}' ({}) records.\n\nThis operation is reserved to the bridge itself.",
        model.description, model.name
    )))
}
