//! A generic method's arguments: who calls (`Env`), the call itself (`Call`), and the parsing of Odoo's
//! positional-or-keyword arguments (paging, field lists, string lists).

use std::cell::Cell;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::orm::convert::id_list;
use crate::orm::model::{Field, Model};
use crate::orm::serie::OdooSerie;
use crate::types::{GuardSeen, RowGuard, Value};

/// Who is calling: the authenticated user and its company (every query is scoped to it), and the Odoo
/// series whose ORM semantics the entry point speaks.
#[derive(Clone, Debug)]
pub struct Env {
    pub uid: i64,
    pub company_id: i64,
    pub context: BTreeMap<String, Value>,
    pub serie: OdooSerie,
    /// A row `search_read` and `read` check in their own statement (the caller's user row as last
    /// verified), and what they found (`guard_seen`).
    pub guard: Option<RowGuard>,
    pub guard_seen: Cell<GuardSeen>,
}

impl Env {
    pub fn new(uid: i64, company_id: i64, context: BTreeMap<String, Value>, serie: OdooSerie) -> Env {
        Env { uid, company_id, context, serie, guard: None, guard_seen: Cell::new(GuardSeen::NotChecked) }
    }
}

/// One `execute_kw` call, after authentication.
#[derive(Clone, Debug)]
pub struct Call {
    pub model: &'static str,
    pub method: String,
    pub args: Vec<Value>,
    pub kwargs: BTreeMap<String, Value>,
    pub env: Env,
}

impl Call {
    /// Positional argument `pos` or keyword `name` (Odoo's call_kw accepts either).
    pub fn arg(&self, pos: usize, name: &str) -> Option<&Value> {
        self.args.get(pos).or_else(|| self.kwargs.get(name))
    }

    /// The record ids of a method called on records (`args[0]`).
    pub fn ids(&self) -> Result<Vec<i64>> {
        match self.args.first() {
            Some(v) => id_list(v),
            None => Err(Error::application(format!("{}() missing the record ids (args[0])", self.method))),
        }
    }

    /// Refuses keyword arguments the method does not take, as Python would.
    pub fn check_kwargs(&self, allowed: &[&str]) -> Result<()> {
        for key in self.kwargs.keys() {
            if key != "context" && !allowed.contains(&key.as_str()) {
                return Err(Error::application(format!(
                    "{}() got an unexpected keyword argument '{key}'",
                    self.method
                )));
            }
        }
        Ok(())
    }

    /// Refuses more positional arguments than the method takes.
    pub fn check_arity(&self, max: usize) -> Result<()> {
        if self.args.len() > max {
            return Err(Error::application(format!(
                "{}() takes at most {max} positional arguments but {} were given",
                self.method,
                self.args.len()
            )));
        }
        Ok(())
    }
}

pub(crate) fn invalid_field(model: &Model, name: &str) -> Error {
    Error::application(format!("Invalid field '{name}' on model '{}'", model.name))
}

pub(crate) fn optional_int(v: Option<&Value>, what: &str) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Some(n)),
            // PostgreSQL's refusal, which Odoo passes on as fault 1.
            Some(_) => Err(Error::application(format!("{} must not be negative", what.to_uppercase()))),
            None => Err(Error::application(format!("{what} must be an integer, got {}", v.kind()))),
        },
    }
}

/// `(offset, limit, order)` at positions `first`, `first+1`, `first+2` or as keywords.
pub fn paging(call: &Call, first: usize) -> Result<(i64, Option<i64>, Option<String>)> {
    let offset = optional_int(call.arg(first, "offset"), "offset")?.unwrap_or(0);
    // Odoo treats limit=0 as "no limit".
    let limit = optional_int(call.arg(first + 1, "limit"), "limit")?.filter(|l| *l > 0);
    let order = match call.arg(first + 2, "order") {
        None => None,
        Some(v) if v.is_null() => None,
        Some(Value::Str(s)) => Some(s.to_string()),
        Some(v) => return Err(Error::application(format!("order must be a string, got {}", v.kind()))),
    };
    Ok((offset, limit, order))
}

pub(crate) fn load_classic(v: Option<&Value>) -> bool {
    match v {
        None => true,
        Some(Value::Str(s)) => s == "_classic_read",
        Some(_) => false,
    }
}

pub(crate) fn string_list(v: Option<&Value>, what: &str) -> Result<Option<Vec<String>>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(Value::List(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::application(format!("{what} must be a list of strings")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(Value::Str(s)) => Ok(Some(vec![s.to_string()])),
        Some(other) => Err(Error::application(format!("{what} must be a list of strings, got {}", other.kind()))),
    }
}

/// The fields to read: the requested ones (validated), or every field.
pub(crate) fn field_list<'m>(model: &'m Model, v: Option<&Value>) -> Result<Vec<&'m Field>> {
    // Odoo iterates `fields`: a string is a sequence of one-character names (`fields='amount'` asks for
    // the field `a`), not one name.
    let names = match v {
        Some(Value::Str(s)) => Some(s.chars().map(String::from).collect()),
        other => string_list(other, "fields")?,
    };
    match names {
        None => Ok(model.all_fields().collect()),
        Some(names) if names.is_empty() => Ok(model.all_fields().collect()),
        Some(names) => {
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let field = model.field(&name).ok_or_else(|| invalid_field(model, &name))?;
                if !out.iter().any(|f: &&Field| f.name == field.name) {
                    out.push(field);
                }
            }
            Ok(out)
        }
    }
}
