//! The generic ORM methods, written once over the registry: every model gets `search`, `read`,
//! `search_read`, `create`, `write`, `unlink`, `fields_get`, … with Odoo 17's signatures and wire format.

use std::collections::{BTreeMap, HashMap};

use crate::db::{AnyConnection, Backend};
use crate::error::{Error, Result};
use crate::orm::convert::{coerce_for_write, id_list, now_string, read_cell};
use crate::orm::domain::Domain;
use crate::orm::model::{CompanyScope, Default, Field, FieldType, Model};
use crate::orm::registry::Registry;
use crate::orm::sql::{json_row, Sql, SqlValue};
use crate::types::Value;

/// Who is calling: the authenticated user and its company (every query is scoped to it).
#[derive(Clone, Debug)]
pub struct Env {
    pub uid: i64,
    pub company_id: i64,
    pub context: BTreeMap<String, Value>,
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
    fn parse(s: &str) -> Option<Operation> {
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

fn allowed(model: &Model, op: Operation) -> bool {
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
            // Reading an id that is gone (or belongs to another company) is an error, not an empty answer.
            orm.ensure_visible(conn, model, &ids)?;
            Ok(Value::List(orm.read(conn, model, &ids, &fields, classic)?))
        }
        "search_read" => {
            call.check_arity(6)?;
            call.check_kwargs(&["domain", "fields", "offset", "limit", "order", "load"])?;
            let domain = call.arg(0, "domain").cloned().unwrap_or(Value::List(vec![]));
            let fields = field_list(model, call.arg(1, "fields"))?;
            let (offset, limit, order) = paging(call, 2)?;
            let classic = load_classic(call.kwargs.get("load"));
            let search = Search { domain: &domain, offset, limit, order: order.as_deref() };
            Ok(Value::List(orm.search_read(conn, model, &search, &fields, classic)?))
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
            if !name.is_empty() || operator != "ilike" {
                domain.push(Value::List(vec![Value::str(model.rec_name), Value::Str(operator), Value::Str(name)]));
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

fn invalid_field(model: &Model, name: &str) -> Error {
    Error::application(format!("Invalid field '{name}' on model '{}'", model.name))
}

fn optional_int(v: Option<&Value>, what: &str) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Some(n)),
            Some(_) => Err(Error::user(format!("{what} must be zero or a positive integer"))),
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
        Some(Value::Str(s)) => Some(s.clone()),
        Some(v) => return Err(Error::application(format!("order must be a string, got {}", v.kind()))),
    };
    Ok((offset, limit, order))
}

fn load_classic(v: Option<&Value>) -> bool {
    match v {
        None => true,
        Some(Value::Str(s)) => s == "_classic_read",
        Some(_) => false,
    }
}

fn string_list(v: Option<&Value>, what: &str) -> Result<Option<Vec<String>>> {
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
        Some(Value::Str(s)) => Ok(Some(vec![s.clone()])),
        Some(other) => Err(Error::application(format!("{what} must be a list of strings, got {}", other.kind()))),
    }
}

/// The fields to read: the requested ones (validated), or every field.
fn field_list<'m>(model: &'m Model, v: Option<&Value>) -> Result<Vec<&'m Field>> {
    match string_list(v, "fields")? {
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

fn default_value(field: &Field, env: &Env) -> Option<Value> {
    match field.default {
        Default::None => None,
        Default::Bool(b) => Some(Value::Bool(b)),
        Default::Str(s) => Some(Value::str(s)),
        Default::Int(i) => Some(Value::Int(i)),
        Default::Float(f) => Some(Value::Float(f)),
        Default::UserCompany => Some(Value::Int(env.company_id)),
        Default::Now => Some(Value::Str(now_string())),
    }
}

pub fn fields_get(model: &Model, all: Option<&[String]>, attributes: Option<&[String]>) -> Value {
    let mut out = BTreeMap::new();
    for field in model.all_fields() {
        if let Some(all) = all {
            if !all.iter().any(|n| n == field.name) {
                continue;
            }
        }
        let mut desc: Vec<(&str, Value)> = vec![
            ("name", Value::str(field.name)),
            ("type", Value::str(field.ftype.odoo_name())),
            ("string", Value::str(field.string)),
            ("help", if field.help.is_empty() { Value::Bool(false) } else { Value::str(field.help) }),
            ("readonly", Value::Bool(field.readonly)),
            ("required", Value::Bool(field.required)),
            ("store", Value::Bool(field.is_stored() && field.name != "display_name")),
            ("searchable", Value::Bool(true)),
            ("sortable", Value::Bool(field.is_stored() && field.name != "display_name")),
            ("manual", Value::Bool(false)),
            ("company_dependent", Value::Bool(false)),
            ("change_default", Value::Bool(false)),
            ("depends", Value::List(vec![])),
        ];
        match field.ftype {
            FieldType::Selection(options) => desc.push((
                "selection",
                Value::List(options.iter().map(|(k, l)| Value::List(vec![Value::str(*k), Value::str(*l)])).collect()),
            )),
            FieldType::Many2one(comodel) => {
                desc.push(("relation", Value::str(comodel)));
                desc.push(("domain", Value::List(vec![])));
                desc.push(("context", Value::Map(BTreeMap::new())));
            }
            FieldType::One2many(comodel, inverse) => {
                desc.push(("relation", Value::str(comodel)));
                desc.push(("relation_field", Value::str(inverse)));
                desc.push(("domain", Value::List(vec![])));
                desc.push(("context", Value::Map(BTreeMap::new())));
            }
            FieldType::Char | FieldType::Text => desc.push(("translate", Value::Bool(false))),
            _ => {}
        }
        let desc = desc
            .into_iter()
            .filter(|(k, _)| attributes.is_none_or(|a| a.is_empty() || a.iter().any(|x| x == k)))
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        out.insert(field.name.to_string(), Value::Map(desc));
    }
    Value::Map(out)
}

/// What `search` and `search_read` select: a domain and Odoo's paging (`offset`, `limit`, `order`).
#[derive(Clone, Copy)]
pub struct Search<'a> {
    pub domain: &'a Value,
    pub offset: i64,
    pub limit: Option<i64>,
    pub order: Option<&'a str>,
}

impl<'a> Search<'a> {
    /// Every record matching `domain`, in the model's default order.
    pub fn all(domain: &'a Value) -> Search<'a> {
        Search { domain, offset: 0, limit: None, order: None }
    }
}

/// The ORM bound to one caller and one backend.
pub struct Orm<'a> {
    pub registry: &'a Registry,
    pub backend: Backend,
    pub env: &'a Env,
}

impl Orm<'_> {
    /// `AND <alias> belongs to the caller's company` for scoped models.
    fn push_scope(&self, model: &Model, alias: &str, sql: &mut Sql) {
        match model.scope {
            CompanyScope::Global => {}
            CompanyScope::CompanyField => {
                sql.push(&format!(" AND {alias}.company_id = "));
                sql.bind(SqlValue::Int(self.env.company_id));
            }
            CompanyScope::OwnCompany => {
                sql.push(&format!(" AND {alias}.id = "));
                sql.bind(SqlValue::Int(self.env.company_id));
            }
        }
    }

    fn where_clause(&self, model: &Model, domain: &Value, sql: &mut Sql) -> Result<()> {
        let domain = Domain::parse(domain)?;
        domain.validate(self.registry, model)?;
        sql.push(" WHERE ");
        domain.to_sql(self.registry, model, "t", sql)?;
        self.push_scope(model, "t", sql);
        Ok(())
    }

    fn order_clause(&self, model: &Model, order: Option<&str>) -> Result<String> {
        let spec = order.filter(|o| !o.trim().is_empty()).unwrap_or(model.order);
        let mut terms = Vec::new();
        let mut has_id = false;
        for term in spec.split(',') {
            let mut words = term.split_whitespace();
            let name = words.next().ok_or_else(|| Error::application(format!("Invalid order {spec:?}")))?;
            let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => "ASC NULLS LAST",
                Some("desc") => "DESC NULLS FIRST",
                Some(_) => {
                    return Err(Error::application(format!("Invalid order {spec:?}: use 'field [asc|desc], …'")))
                }
            };
            if words.next().is_some() {
                return Err(Error::application(format!("Invalid order {spec:?}: use 'field [asc|desc], …'")));
            }
            let field = match name {
                "display_name" => model.field(model.rec_name),
                other => model.field(other),
            }
            .filter(|f| f.is_stored() && f.name != "display_name")
            .ok_or_else(|| {
                Error::application(format!("Invalid order {spec:?}: {name} is not a sortable field of {}", model.name))
            })?;
            has_id |= field.name == "id";
            terms.push(format!("t.{} {direction}", field.name));
        }
        if !has_id {
            terms.push("t.id ASC".to_string());
        }
        Ok(terms.join(", "))
    }

    pub fn search(&self, conn: &mut AnyConnection, model: &Model, search: &Search) -> Result<Vec<i64>> {
        self.search_sql(model, search)?.load_ids(conn)
    }

    /// The query of `search`, compiled but not run (no database needed: the fuzz targets use it too).
    pub fn search_sql(&self, model: &Model, search: &Search) -> Result<Sql> {
        self.select_sql("t.id AS id", model, search)
    }

    /// `SELECT <select> FROM <model> t WHERE <domain and company scope> ORDER BY … LIMIT … OFFSET …`.
    fn select_sql(&self, select: &str, model: &Model, search: &Search) -> Result<Sql> {
        let Search { domain, offset, limit, order } = *search;
        let order = self.order_clause(model, order)?;
        let mut sql = Sql::new(self.backend);
        sql.push(&format!("SELECT {select} FROM {} t", model.table));
        self.where_clause(model, domain, &mut sql)?;
        sql.push(&format!(" ORDER BY {order}"));
        // Written as literals (checked integers), not bound: SQLite re-prepares a statement whose LIMIT or
        // OFFSET is a parameter every time that parameter is bound, which doubled the cost of each search.
        match (limit, self.backend) {
            (Some(limit), _) => sql.push(&format!(" LIMIT {limit}")),
            (None, Backend::Sqlite) if offset > 0 => sql.push(" LIMIT -1"),
            _ => {}
        }
        if offset > 0 {
            sql.push(&format!(" OFFSET {offset}"));
        }
        Ok(sql)
    }

    pub fn count(&self, conn: &mut AnyConnection, model: &Model, domain: &Value, limit: Option<i64>) -> Result<i64> {
        let mut sql = Sql::new(self.backend);
        sql.push(&format!("SELECT COUNT(*) AS n FROM (SELECT t.id FROM {} t", model.table));
        self.where_clause(model, domain, &mut sql)?;
        if let Some(limit) = limit.filter(|l| *l > 0) {
            sql.push(&format!(" LIMIT {limit}"));
        }
        sql.push(") c");
        sql.load_count(conn)
    }

    /// The subset of `ids` that exist and that the caller may see.
    pub fn visible_ids(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("SELECT t.id AS id FROM {} t WHERE t.id IN ({})", model.table, join_ids(chunk)));
            self.push_scope(model, "t", &mut sql);
            found.extend(sql.load_ids(conn)?);
        }
        Ok(found)
    }

    /// Fails with Odoo's MissingError unless every id exists and is visible.
    pub fn ensure_visible(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<()> {
        let found = self.visible_ids(conn, model, ids)?;
        let mut missing: Vec<i64> = ids.iter().copied().filter(|i| !found.contains(i)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        Err(Error::missing(format!(
            "Record does not exist or has been deleted.\n(Record: {}({}), User: {})",
            model.name,
            missing.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
            self.env.uid
        )))
    }

    /// `read`: the records of `ids` in that order (duplicates once), unknown or foreign ids skipped.
    pub fn read(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        fields: &[&Field],
        classic: bool,
    ) -> Result<Vec<Value>> {
        let select = json_row(self.backend, "t", &column_names(model));
        let mut by_id: HashMap<i64, Vec<Value>> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("SELECT {select} FROM {} t WHERE t.id IN ({})", model.table, join_ids(chunk)));
            self.push_scope(model, "t", &mut sql);
            for row in sql.load_rows(conn)? {
                if let Some(id) = row.first().and_then(Value::as_i64) {
                    by_id.insert(id, row);
                }
            }
        }
        // `remove` also drops repeated ids, as Odoo's recordsets do.
        let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        self.records(conn, model, rows, fields, classic)
    }

    /// `search_read` in one query: the search's rows are read as they are found, not looked up again by id.
    pub fn search_read(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        search: &Search,
        fields: &[&Field],
        classic: bool,
    ) -> Result<Vec<Value>> {
        let select = json_row(self.backend, "t", &column_names(model));
        let rows = self.select_sql(&select, model, search)?.load_rows(conn)?;
        self.records(conn, model, rows, fields, classic)
    }

    /// Builds the records of stored rows (cells in `column_names` order, id first): related display
    /// names and one2many ids are fetched once per field for all rows.
    fn records(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        mut rows: Vec<Vec<Value>>,
        fields: &[&Field],
        classic: bool,
    ) -> Result<Vec<Value>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // `id` always comes first, once, whether or not it was asked for.
        let fields: Vec<&Field> = fields.iter().copied().filter(|f| f.name != "id").collect();
        let row_id = |row: &Vec<Value>| row.first().and_then(Value::as_i64).unwrap_or(0);
        let columns = column_names(model);
        let column = |name: &str| columns.iter().position(|c| *c == name);

        /// How each requested field is filled, worked out once for all rows.
        enum Source<'f> {
            DisplayName,
            Children(HashMap<i64, Vec<i64>>),
            Related(usize, HashMap<i64, String>),
            Cell(usize, &'f Field),
        }
        let mut sources = Vec::with_capacity(fields.len());
        for field in &fields {
            let source = match field.ftype {
                _ if field.name == "display_name" => Source::DisplayName,
                FieldType::One2many(comodel, inverse) => {
                    let parent_ids: Vec<i64> = rows.iter().map(row_id).collect();
                    Source::Children(self.child_ids(conn, self.registry.model(comodel)?, inverse, &parent_ids)?)
                }
                FieldType::Many2one(comodel) if classic => {
                    let idx = column(field.name).ok_or_else(|| invalid_field(model, field.name))?;
                    let ref_ids: Vec<i64> = rows.iter().filter_map(|r| r.get(idx).and_then(Value::as_i64)).collect();
                    Source::Related(idx, self.display_names(conn, self.registry.model(comodel)?, &ref_ids)?)
                }
                _ => Source::Cell(column(field.name).ok_or_else(|| invalid_field(model, field.name))?, field),
            };
            sources.push(source);
        }

        let rec_name_idx = column(model.rec_name);
        let wants_display_name = sources.iter().any(|s| matches!(s, Source::DisplayName));
        let mut out = Vec::with_capacity(rows.len());
        for cells in &mut rows {
            let id = row_id(cells);
            let mut record = Vec::with_capacity(fields.len() + 1);
            record.push(("id", Value::Int(id)));
            // The display name first: it may read the cell another field then takes.
            let name = wants_display_name.then(|| display_name(model, id, rec_name_idx.and_then(|i| cells.get(i))));
            for (field, source) in fields.iter().zip(&sources) {
                let value = match source {
                    Source::DisplayName => Value::Str(name.clone().unwrap_or_default()),
                    Source::Children(children) => Value::List(
                        children.get(&id).map_or_else(Vec::new, |c| c.iter().copied().map(Value::Int).collect()),
                    ),
                    Source::Related(idx, names) => match cells.get(*idx).and_then(Value::as_i64) {
                        Some(ref_id) => Value::List(vec![
                            Value::Int(ref_id),
                            Value::Str(names.get(&ref_id).cloned().unwrap_or_default()),
                        ]),
                        None => Value::Bool(false),
                    },
                    Source::Cell(idx, field) => read_cell(
                        field.ftype,
                        cells.get_mut(*idx).map_or(Value::Nil, |c| std::mem::replace(c, Value::Nil)),
                    ),
                };
                record.push((field.name, value));
            }
            out.push(Value::Record(record));
        }
        Ok(out)
    }

    /// The ids of the `comodel` records whose `inverse` points at each parent, in the comodel's order.
    fn child_ids(
        &self,
        conn: &mut AnyConnection,
        comodel: &Model,
        inverse: &str,
        parent_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<i64>>> {
        let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
        for chunk in parent_ids.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!(
                "SELECT t.{inverse} AS id, CAST(t.id AS TEXT) AS label FROM {} t WHERE t.{inverse} IN ({}) ORDER BY {}",
                comodel.table,
                join_ids(chunk),
                self.order_clause(comodel, None)?
            ));
            for (parent, child) in sql.load_id_texts(conn)? {
                if let Some(child) = child.and_then(|c| c.parse().ok()) {
                    map.entry(parent).or_default().push(child);
                }
            }
        }
        Ok(map)
    }

    fn display_names(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let mut out = HashMap::new();
        let mut unique: Vec<i64> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        for chunk in unique.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!(
                "SELECT t.id AS id, CAST(t.{} AS TEXT) AS label FROM {} t WHERE t.id IN ({})",
                model.rec_name,
                model.table,
                join_ids(chunk)
            ));
            for (id, label) in sql.load_id_texts(conn)? {
                let cell = label.map(Value::Str);
                out.insert(id, display_name(model, id, cell.as_ref()));
            }
        }
        Ok(out)
    }

    fn name_pairs(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<Value> {
        let visible = self.visible_ids(conn, model, ids)?;
        let names = self.display_names(conn, model, &visible)?;
        Ok(Value::List(
            ids.iter()
                .filter_map(|id| names.get(id).map(|n| Value::List(vec![Value::Int(*id), Value::str(n.clone())])))
                .collect(),
        ))
    }

    /// Checks a many2one target exists and is visible (a user must not attach records to another company's).
    fn check_reference(&self, conn: &mut AnyConnection, field: &Field, value: &SqlValue) -> Result<()> {
        let (FieldType::Many2one(comodel), SqlValue::Int(id)) = (field.ftype, value) else {
            return Ok(());
        };
        let comodel = self.registry.model(comodel)?;
        if self.visible_ids(conn, comodel, &[*id])?.is_empty() {
            return Err(Error::validation(format!(
                "The value of {} refers to a {} record ({id}) that does not exist or that you cannot access.",
                field.name, comodel.description
            )));
        }
        Ok(())
    }

    /// Splits incoming values into column assignments and one2many commands, validating each.
    #[allow(clippy::type_complexity)]
    fn prepare_values<'m, 'v>(
        &self,
        conn: &mut AnyConnection,
        model: &'m Model,
        vals: &'v BTreeMap<String, Value>,
        creating: bool,
    ) -> Result<(Vec<(&'static str, SqlValue)>, Vec<(&'m Field, &'v Value)>)> {
        let mut columns = Vec::new();
        let mut commands = Vec::new();
        for (name, value) in vals {
            let field = model.field(name).ok_or_else(|| invalid_field(model, name))?;
            if field.name == "id" || field.name == "display_name" {
                return Err(Error::validation(format!(
                    "The field {} of {} cannot be written.",
                    field.name, model.name
                )));
            }
            if field.name == "company_id" && model.scope == CompanyScope::CompanyField {
                if value.as_i64() == Some(self.env.company_id) || value.is_null() && !creating {
                    if value.is_null() {
                        return Err(Error::validation("company_id is required."));
                    }
                    continue;
                }
                return Err(Error::access(format!(
                    "You cannot put a {} record in a company you do not belong to.",
                    model.description
                )));
            }
            if field.readonly {
                return Err(Error::validation(format!(
                    "The field '{}' ({}) of {} is read-only: the bridge sets it.",
                    field.string, field.name, model.name
                )));
            }
            if let FieldType::One2many(..) = field.ftype {
                commands.push((field, value));
                continue;
            }
            let sql_value = coerce_for_write(model.name, field, value)?;
            if field.required && matches!(sql_value, SqlValue::Null(_)) {
                return Err(Error::validation(format!("The field '{}' ({}) is required.", field.string, field.name)));
            }
            self.check_reference(conn, field, &sql_value)?;
            columns.push((field.name, sql_value));
        }
        Ok((columns, commands))
    }

    pub fn create(&self, conn: &mut AnyConnection, model: &Model, vals: &BTreeMap<String, Value>) -> Result<i64> {
        check_access(model, Operation::Create)?;
        let (mut columns, commands) = self.prepare_values(conn, model, vals, true)?;
        for field in model.fields.iter().filter(|f| f.is_stored()) {
            if columns.iter().any(|(n, _)| *n == field.name) {
                continue;
            }
            let value = match (field.name, model.scope) {
                ("company_id", CompanyScope::CompanyField) => Some(SqlValue::Int(self.env.company_id)),
                ("create_date" | "write_date", _) => Some(SqlValue::Text(now_string())),
                _ => default_value(field, self.env).map(|v| coerce_for_write(model.name, field, &v)).transpose()?,
            };
            match value {
                Some(v) => columns.push((field.name, v)),
                None if field.required => {
                    return Err(Error::validation(format!(
                        "Missing required value for the field '{}' ({}) of {}.",
                        field.string, field.name, model.name
                    )))
                }
                None => {}
            }
        }
        let mut sql = Sql::new(self.backend);
        sql.push(&format!(
            "INSERT INTO {} ({}) VALUES (",
            model.table,
            columns.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ));
        for (i, (_, v)) in columns.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(v);
        }
        sql.push(") RETURNING id");
        let id = sql.load_ids(conn)?.first().copied().ok_or_else(|| Error::application("insert returned no id"))?;
        for (field, value) in commands {
            self.apply_commands(conn, field, id, value)?;
        }
        Ok(id)
    }

    pub fn write(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        vals: &BTreeMap<String, Value>,
    ) -> Result<()> {
        check_access(model, Operation::Write)?;
        if ids.is_empty() {
            return Ok(());
        }
        self.ensure_visible(conn, model, ids)?;
        let (mut columns, commands) = self.prepare_values(conn, model, vals, false)?;
        if model.field("write_date").is_some() {
            columns.push(("write_date", SqlValue::Text(now_string())));
        }
        if !columns.is_empty() {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("UPDATE {} SET ", model.table));
            for (i, (name, v)) in columns.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push(&format!("{name} = "));
                sql.bind(v);
            }
            sql.push(&format!(" WHERE id IN ({})", join_ids(ids)));
            sql.execute(conn)?;
        }
        for (field, value) in commands {
            for id in ids {
                self.apply_commands(conn, field, *id, value)?;
            }
        }
        Ok(())
    }

    pub fn unlink(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<()> {
        check_access(model, Operation::Unlink)?;
        // As in Odoo, ids that are already gone are ignored; other companies' records are invisible.
        let visible = self.visible_ids(conn, model, ids)?;
        for chunk in visible.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("DELETE FROM {} WHERE id IN ({})", model.table, join_ids(chunk)));
            sql.execute(conn)?;
        }
        Ok(())
    }

    /// Odoo's x2many commands: (0,0,vals) (1,id,vals) (2,id) (3,id) (4,id) (5,) (6,0,ids).
    fn apply_commands(&self, conn: &mut AnyConnection, field: &Field, parent: i64, value: &Value) -> Result<()> {
        let FieldType::One2many(comodel, inverse) = field.ftype else {
            return Ok(());
        };
        let comodel = self.registry.model(comodel)?;
        let bad = || {
            Error::validation(format!(
                "{} takes a list of commands such as (0, 0, values), (4, id), (6, 0, ids).",
                field.name
            ))
        };
        let commands = value.as_list().ok_or_else(bad)?;
        let children = |orm: &Self, conn: &mut AnyConnection| -> Result<Vec<i64>> {
            let domain = Value::List(vec![Value::List(vec![Value::str(inverse), Value::str("="), Value::Int(parent)])]);
            orm.search(conn, comodel, &Search::all(&domain))
        };
        let link = |orm: &Self, conn: &mut AnyConnection, ids: &[i64]| -> Result<()> {
            let mut vals = BTreeMap::new();
            vals.insert(inverse.to_string(), Value::Int(parent));
            orm.write_internal(conn, comodel, ids, &vals)
        };
        for command in commands {
            let parts = command.as_list().ok_or_else(bad)?;
            let code = parts.first().and_then(Value::as_i64).ok_or_else(bad)?;
            let target = parts.get(1).and_then(Value::as_i64);
            match code {
                0 => {
                    let Some(Value::Map(vals)) = parts.get(2) else {
                        return Err(bad());
                    };
                    let mut vals = vals.clone();
                    vals.insert(inverse.to_string(), Value::Int(parent));
                    self.create(conn, comodel, &vals)?;
                }
                1 => {
                    let (Some(id), Some(Value::Map(vals))) = (target, parts.get(2)) else {
                        return Err(bad());
                    };
                    self.write(conn, comodel, &[id], vals)?;
                }
                2 | 3 => {
                    // The inverse of every one2many here is required, so cutting the link deletes the row.
                    let id = target.ok_or_else(bad)?;
                    self.ensure_visible(conn, comodel, &[id])?;
                    self.unlink(conn, comodel, &[id])?;
                }
                4 => {
                    let id = target.ok_or_else(bad)?;
                    self.ensure_visible(conn, comodel, &[id])?;
                    link(self, conn, &[id])?;
                }
                5 => {
                    let ids = children(self, conn)?;
                    self.unlink(conn, comodel, &ids)?;
                }
                6 => {
                    let wanted = id_list(parts.get(2).ok_or_else(bad)?)?;
                    self.ensure_visible(conn, comodel, &wanted)?;
                    let current = children(self, conn)?;
                    let dropped: Vec<i64> = current.iter().copied().filter(|i| !wanted.contains(i)).collect();
                    self.unlink(conn, comodel, &dropped)?;
                    link(self, conn, &wanted)?;
                }
                _ => return Err(bad()),
            }
        }
        Ok(())
    }

    /// A write by the bridge itself: readonly fields allowed, still scoped and type-checked.
    pub fn write_internal(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        vals: &BTreeMap<String, Value>,
    ) -> Result<()> {
        if ids.is_empty() || vals.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(self.backend);
        sql.push(&format!("UPDATE {} SET ", model.table));
        for (i, (name, value)) in vals.iter().enumerate() {
            let field = model
                .field(name)
                .filter(|f| f.is_stored() && f.name != "id")
                .ok_or_else(|| invalid_field(model, name))?;
            let v = coerce_for_write(model.name, field, value)?;
            self.check_reference(conn, field, &v)?;
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{} = ", field.name));
            sql.bind(v);
        }
        sql.push(&format!(" WHERE id IN ({})", join_ids(ids)));
        self.push_scope(model, model.table, &mut sql);
        sql.execute(conn)?;
        Ok(())
    }
}

fn display_name(model: &Model, id: i64, cell: Option<&Value>) -> String {
    match cell {
        Some(Value::Str(s)) if !s.is_empty() => s.clone(),
        Some(Value::Int(n)) => n.to_string(),
        Some(Value::Float(f)) => f.to_string(),
        _ => format!("{},{id}", model.name),
    }
}

/// The stored columns as rows are selected: `id` first.
fn column_names(model: &Model) -> Vec<&'static str> {
    model.columns().map(|f| f.name).collect()
}

pub fn join_ids(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".to_string();
    }
    let mut s = String::with_capacity(ids.len() * 6);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s
}
