//! The generic ORM methods by name, written once over the registry: every model gets `search`, `read`,
//! `search_read`, `create`, `write`, `unlink`, `fields_get`, … with Odoo 17's signatures and wire format.
//! This file reads each method's arguments and hands the work to `read`, `write` or `fields_get`.

use std::collections::BTreeMap;

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::access::{allowed, check_access, Operation};
use crate::orm::args::{field_list, invalid_field, load_classic, optional_int, paging, string_list, Call};
use crate::orm::fields_get::fields_get;
use crate::orm::model::Model;
use crate::orm::read::{Orm, Search};
use crate::orm::registry::Registry;
use crate::orm::write::default_value;
use crate::types::Value;

/// Runs a generic method inside the caller's database transaction.
pub fn call_generic(registry: &Registry, conn: &mut AnyConnection, call: &Call) -> Result<Value> {
    let model = registry.model(call.model)?;
    let orm = Orm { registry, backend: conn.backend(), env: &call.env };
    match call.method.as_str() {
        "search" => {
            call.check_arity(5)?;
            call.check_kwargs(&["domain", "args", "offset", "limit", "order", "count"])?;
            let domain =
                call.arg(0, "domain").or_else(|| call.kwargs.get("args")).cloned().unwrap_or(Value::List(vec![]));
            let (offset, limit, order) = paging(call, 1)?;
            if call.arg(4, "count").is_some_and(|c| !c.is_falsy()) {
                return Ok(Value::Int(orm.count(conn, model, &domain, None)?));
            }
            let ids = orm.search(conn, model, &Search { domain: &domain, offset, limit, order: order.as_deref() })?;
            Ok(Value::List(ids.into_iter().map(Value::Int).collect()))
        }
        "search_count" => {
            call.check_arity(2)?;
            call.check_kwargs(&["domain", "limit"])?;
            let domain = call.arg(0, "domain").cloned().unwrap_or(Value::List(vec![]));
            let limit = optional_int(call.arg(1, "limit"), "limit")?;
            Ok(Value::Int(orm.count(conn, model, &domain, limit)?))
        }
        "read" => {
            call.check_arity(3)?;
            call.check_kwargs(&["fields", "load"])?;
            let ids = call.ids()?;
            let fields = field_list(model, call.arg(1, "fields"))?;
            let classic = load_classic(call.arg(2, "load"));
            // As in Odoo, ids that are gone are left out of the answer; so are another company's.
            Ok(Value::records(orm.read(conn, model, &ids, &fields, classic)?))
        }
        "search_read" => {
            call.check_arity(6)?;
            call.check_kwargs(&["domain", "fields", "offset", "limit", "order", "load"])?;
            let domain = call.arg(0, "domain").cloned().unwrap_or(Value::List(vec![]));
            let fields = field_list(model, call.arg(1, "fields"))?;
            let (offset, limit, order) = paging(call, 2)?;
            let classic = load_classic(call.kwargs.get("load"));
            let search = Search { domain: &domain, offset, limit, order: order.as_deref() };
            Ok(Value::records(orm.search_read(conn, model, &search, &fields, classic)?))
        }
        "name_search" => {
            call.check_arity(4)?;
            call.check_kwargs(&["name", "args", "domain", "operator", "limit"])?;
            let name = call.arg(0, "name").and_then(Value::as_str).unwrap_or("").to_string();
            let extra =
                call.arg(1, "args").or_else(|| call.kwargs.get("domain")).cloned().unwrap_or(Value::List(vec![]));
            let operator = call.arg(2, "operator").and_then(Value::as_str).unwrap_or("ilike").to_string();
            let limit = optional_int(call.arg(3, "limit"), "limit")?.or(Some(100));
            let mut domain = match extra {
                Value::List(items) => items,
                v if v.is_null() => Vec::new(),
                _ => return Err(Error::application("name_search(): args must be a domain list")),
            };
            // Odoo leaves out the name criterion `like ''` / `ilike ''`, which matches every record.
            if !(name.is_empty() && (operator == "ilike" || operator == "like")) {
                domain.push(Value::List(vec![Value::str(model.rec_name), Value::str(operator), Value::str(name)]));
            }
            let ids = orm.search(conn, model, &Search { limit, ..Search::all(&Value::List(domain)) })?;
            orm.name_pairs(conn, model, &ids)
        }
        "name_get" => {
            call.check_arity(1)?;
            let ids = call.ids()?;
            orm.name_pairs(conn, model, &ids)
        }
        "exists" => {
            let ids = call.ids()?;
            let found = orm.visible_ids(conn, model, &ids)?;
            Ok(Value::List(ids.into_iter().filter(|i| found.contains(i)).map(Value::Int).collect()))
        }
        "fields_get" => {
            call.check_arity(2)?;
            call.check_kwargs(&["allfields", "attributes"])?;
            let all = string_list(call.arg(0, "allfields"), "allfields")?;
            let attributes = string_list(call.arg(1, "attributes"), "attributes")?;
            Ok(fields_get(model, all.as_deref(), attributes.as_deref()))
        }
        "check_access_rights" => {
            call.check_arity(2)?;
            call.check_kwargs(&["operation", "raise_exception"])?;
            let op_name = call.arg(0, "operation").and_then(Value::as_str).unwrap_or("");
            let op = Operation::parse(op_name).ok_or_else(|| {
                Error::application(format!("Invalid access mode {op_name:?}: use read, write, create or unlink"))
            })?;
            let raise = call.arg(1, "raise_exception").is_none_or(|v| !v.is_falsy());
            match (allowed(model, op), raise) {
                (true, _) => Ok(Value::Bool(true)),
                (false, true) => check_access(model, op).map(|_| Value::Bool(false)),
                (false, false) => Ok(Value::Bool(false)),
            }
        }
        "default_get" => {
            call.check_arity(1)?;
            call.check_kwargs(&["fields_list", "fields"])?;
            let names = string_list(call.arg(0, "fields_list").or_else(|| call.kwargs.get("fields")), "fields_list")?
                .unwrap_or_default();
            let mut out = BTreeMap::new();
            for name in names {
                let field = model.field(&name).ok_or_else(|| invalid_field(model, &name))?;
                if let Some(v) = default_value(field, &call.env) {
                    out.insert(name, v);
                }
            }
            Ok(Value::Map(out))
        }
        "create" => {
            call.check_arity(1)?;
            call.check_kwargs(&["vals_list", "vals"])?;
            let arg = call
                .arg(0, "vals_list")
                .or_else(|| call.kwargs.get("vals"))
                .ok_or_else(|| Error::application("create() missing 1 required positional argument: 'vals_list'"))?;
            match arg {
                Value::Map(vals) => Ok(Value::Int(orm.create(conn, model, vals)?)),
                Value::List(items) => {
                    let mut ids = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::Map(vals) => ids.push(Value::Int(orm.create(conn, model, vals)?)),
                            _ => return Err(Error::application("create() takes a dict or a list of dicts")),
                        }
                    }
                    Ok(Value::List(ids))
                }
                _ => Err(Error::application("create() takes a dict or a list of dicts")),
            }
        }
        "write" => {
            call.check_arity(2)?;
            call.check_kwargs(&["vals"])?;
            let ids = call.ids()?;
            let vals = match call.arg(1, "vals") {
                Some(Value::Map(vals)) => vals,
                _ => return Err(Error::application("write() takes the record ids and a dict of values")),
            };
            orm.write(conn, model, &ids, vals)?;
            Ok(Value::Bool(true))
        }
        "unlink" => {
            call.check_arity(1)?;
            let ids = call.ids()?;
            orm.unlink(conn, model, &ids)?;
            Ok(Value::Bool(true))
        }
        other => Err(unknown_method(model, other)),
    }
}

pub fn unknown_method(model: &Model, method: &str) -> Error {
    Error::application(format!("The method '{method}' does not exist on the model '{}'", model.name))
}
