//! Reading: the ORM bound to one caller (`Orm`), the company scope, `search` (domain, order, paging)
//! compiled to SQL, `count`, visibility checks, and `read`/`search_read` building Odoo's records.

use std::collections::HashMap;

use crate::db::{AnyConnection, Backend};
use crate::error::{Error, Result};
use crate::orm::args::Env;
use crate::orm::domain::Domain;
use crate::orm::model::{CompanyScope, Field, FieldType, Model};
use crate::orm::registry::Registry;
use crate::orm::serie::OdooSerie;
use crate::orm::sql::{Sql, SqlValue};
use crate::types::{GuardSeen, Records, RowGuard, Value};

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
    pub(crate) fn push_scope(&self, model: &Model, alias: &str, sql: &mut Sql) {
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
        let domain = Domain::parse_for(domain, self.env.serie)?;
        domain.validate(self.registry, model)?;
        let domain = domain.for_serie(self.env.serie, self.registry, model)?;
        sql.push(" WHERE ");
        domain.to_sql(self.registry, model, "t", sql)?;
        self.push_scope(model, "t", sql);
        Ok(())
    }

    /// Odoo's `_order_to_sql` for `order` (or the model's default) on alias `t`: the LEFT JOINs that
    /// many2one terms need and the ORDER BY list, ending with `t.id` so that every answer is determined.
    /// An order whose every field has no column (`display_name`) leaves no term, and then, as in Odoo 17,
    /// no ORDER BY at all: the database's own order (empty here).
    fn order_clause(&self, model: &Model, order: Option<&str>) -> Result<(String, String)> {
        let spec = order.filter(|o| !o.trim().is_empty()).unwrap_or(model.order);
        let mut joins = Vec::new();
        let mut terms = self.order_terms(model, spec, "t", false, &mut joins, &mut Vec::new())?;
        if terms.is_empty() {
            return Ok((joins.concat(), String::new()));
        }
        if !terms.iter().any(|t| t.starts_with("t.id ")) {
            terms.push("t.id ASC".to_string());
        }
        Ok((joins.concat(), terms.join(", ")))
    }

    /// The ORDER BY terms of `spec` on `model` under `alias`, pushing LEFT JOINs to `joins`. As in Odoo: a
    /// many2one sorts by its comodel's order (joined) unless that order is `id`; a boolean sorts as
    /// COALESCE(value, FALSE); fields without a column (display_name, one2many) are skipped; nulls come last
    /// ascending and first descending (PostgreSQL's defaults, written out for SQLite) unless the term says.
    fn order_terms(
        &self,
        model: &Model,
        spec: &str,
        alias: &str,
        reverse: bool,
        joins: &mut Vec<String>,
        seen: &mut Vec<(&'static str, &'static str)>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for term in parse_order(spec)? {
            let field = model.field(term.field).ok_or_else(|| {
                Error::application(format!("Invalid field '{}' on model '{}'", term.field, model.name))
            })?;
            if let Some(property) = term.property {
                return Err(Error::application(format!(
                    "Order a property ('{property}') on a non-properties field ('{}')",
                    term.field
                )));
            }
            if !field.is_stored() || field.name == "display_name" {
                // Odoo 17 leaves the term out; Odoo 19 refuses it.
                if self.env.serie == OdooSerie::V19 {
                    return Err(Error::python(
                        "builtins.ValueError",
                        format!("Cannot convert {}.{} to SQL because it is not stored", model.name, field.name),
                    ));
                }
                continue;
            }
            let desc = term.desc != reverse;
            let nulls_first = term.nulls_first.map(|first| first != reverse);
            let col = format!("{alias}.{}", field.name);
            if let FieldType::Many2one(comodel_name) = field.ftype {
                let comodel = self.registry.model(comodel_name)?;
                if comodel.order.trim() != "id" {
                    if seen.contains(&(model.name, field.name)) {
                        continue;
                    }
                    seen.push((model.name, field.name));
                    match nulls_first {
                        Some(true) => out.push(format!("({col} IS NOT NULL)")),
                        Some(false) => out.push(format!("({col} IS NULL)")),
                        None => {}
                    }
                    let coalias = format!("{alias}_{}", field.name);
                    joins.push(format!(" LEFT JOIN {} {coalias} ON {coalias}.id = {col}", comodel.table));
                    out.extend(self.order_terms(comodel, comodel.order, &coalias, desc, joins, seen)?);
                    continue;
                }
            }
            let key = match (field.ftype, self.backend) {
                (FieldType::Boolean, Backend::Sqlite) => format!("COALESCE({col}, 0)"),
                (FieldType::Boolean, Backend::Postgres) => format!("COALESCE({col}, FALSE)"),
                _ => col,
            };
            let nulls = if nulls_first.unwrap_or(desc) { "NULLS FIRST" } else { "NULLS LAST" };
            out.push(format!("{key} {} {nulls}", if desc { "DESC" } else { "ASC" }));
        }
        Ok(out)
    }

    pub fn search(&self, conn: &mut AnyConnection, model: &Model, search: &Search) -> Result<Vec<i64>> {
        self.search_sql(model, search)?.load_ids(conn)
    }

    /// The query of `search`, compiled but not run (no database needed: the fuzz targets use it too).
    pub fn search_sql(&self, model: &Model, search: &Search) -> Result<Sql> {
        self.select_sql("t.id AS id", None, model, search)
    }

    /// `SELECT <select> FROM <model> t WHERE <domain and company scope> ORDER BY … LIMIT … OFFSET …`.
    /// With a `guard`, each row ends with one more cell: 1 when the guard's row exists, else NULL.
    fn select_sql(&self, select: &str, guard: Option<&RowGuard>, model: &Model, search: &Search) -> Result<Sql> {
        let Search { domain, offset, limit, order } = *search;
        let (joins, order) = self.order_clause(model, order)?;
        let mut sql = Sql::new(self.backend);
        sql.push("SELECT ");
        sql.push(select);
        push_guard_column(&mut sql, guard);
        sql.push(&format!(" FROM {} t{joins}", model.table));
        self.where_clause(model, domain, &mut sql)?;
        if !order.is_empty() {
            sql.push(&format!(" ORDER BY {order}"));
        }
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
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("SELECT t.id AS id FROM {} t WHERE ", model.table));
            sql.push_id_in("t.id", chunk);
            self.push_scope(model, "t", &mut sql);
            found.extend(sql.load_ids(conn)?);
        }
        Ok(found)
    }

    /// `read`: the records of `ids` in that order, a repeated id as often as it is given, ids that do not exist
    /// skipped (Odoo's answer for missing records); another company's ids are Odoo's access error.
    pub fn read(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        fields: &[&Field],
        classic: bool,
    ) -> Result<Records> {
        let layout = Layout::new(self.registry, model, fields, classic)?;
        let mut by_id: HashMap<i64, Vec<Value>> = HashMap::with_capacity(ids.len());
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let ids_to_fetch = unique;
        for (n, chunk) in ids_to_fetch.chunks(IDS_PER_STATEMENT).enumerate() {
            // The caller's guard row, if any, rides on the first statement.
            let guard = self.guard().filter(|_| n == 0);
            let mut sql = Sql::new(self.backend);
            sql.push("SELECT ");
            sql.push(layout.select());
            push_guard_column(&mut sql, guard);
            sql.push(&format!(" FROM {} t WHERE ", model.table));
            sql.push_id_in("t.id", chunk);
            self.push_scope(model, "t", &mut sql);
            let mut rows = sql.load_rows(conn)?;
            if guard.is_some() {
                self.take_guard_cells(&mut rows);
            }
            for row in rows {
                if let Some(id) = row.first().and_then(Value::as_i64) {
                    by_id.insert(id, row);
                }
            }
        }
        // Ids the scoped read did not find are gone or another company's: only then is the rule checked,
        // so that reading one's own records stays one statement.
        let not_found: Vec<i64> = ids_to_fetch.iter().copied().filter(|id| !by_id.contains_key(id)).collect();
        self.check_rules(conn, model, &not_found, crate::orm::access::Operation::Read)?;
        let rows = ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
        self.records(conn, layout, rows)
    }

    /// `search_read` in one query: the search's rows are read as they are found, not looked up again by id.
    pub fn search_read(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        search: &Search,
        fields: &[&Field],
        classic: bool,
    ) -> Result<Records> {
        let layout = Layout::new(self.registry, model, fields, classic)?;
        let expected = search.limit.and_then(|limit| usize::try_from(limit).ok()).unwrap_or(0);
        // The caller's guard row, when the caller gives one, is checked by this statement (a last cell per
        // row), not by one of its own.
        let guard = self.guard();
        let mut rows = self.select_sql(layout.select(), guard, model, search)?.load_rows_expecting(conn, expected)?;
        if guard.is_some() {
            self.take_guard_cells(&mut rows);
        }
        self.records(conn, layout, rows)
    }

    /// The caller's guard row (`Env::guard`), which a read checks in its own statement.
    fn guard(&self) -> Option<&RowGuard> {
        self.env.guard.as_ref()
    }

    /// Takes the guard's cell (`push_guard_column`) off the end of each row, and notes what it said.
    fn take_guard_cells(&self, rows: &mut [Vec<Value>]) {
        let held = rows.first().map(|row| matches!(row.last(), Some(Value::Int(1))));
        for row in rows.iter_mut() {
            row.pop();
        }
        self.env.guard_seen.set(match held {
            None => GuardSeen::NotChecked,
            Some(true) => GuardSeen::Held,
            Some(false) => GuardSeen::Failed,
        });
    }
}

/// With a `guard`, one more selected column: 1 when the guard's row exists, else NULL.
fn push_guard_column(sql: &mut Sql, guard: Option<&RowGuard>) {
    if let Some(guard) = guard {
        sql.push(", (");
        sql.push_row_guard(guard);
        sql.push(") AS guard_held");
    }
}

/// Most ids one statement lists (`IN (…)`).
const IDS_PER_STATEMENT: usize = 10_000;

/// One term of an `order` specification.
struct OrderTerm<'s> {
    field: &'s str,
    property: Option<&'s str>,
    desc: bool,
    nulls_first: Option<bool>,
}

fn invalid_order(spec: &str) -> Error {
    Error::user(format!(
        "Invalid \"order\" specified ({spec}). A valid \"order\" specification is a comma-separated list of valid \
         field names (optionally followed by asc/desc for the direction)"
    ))
}

/// `field [asc|desc] [nulls first|nulls last], …` as Odoo's `regex_order` accepts it (in any case);
/// anything else is Odoo's UserError.
fn parse_order(spec: &str) -> Result<Vec<OrderTerm<'_>>> {
    let valid_name = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let mut terms = Vec::new();
    for part in spec.split(',') {
        let lowered = part.to_ascii_lowercase();
        let keywords: Vec<&str> = lowered.split_whitespace().collect();
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some((&name, rest)) = words.split_first() else {
            return Err(invalid_order(spec));
        };
        let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name);
        let (field, property) = match name.split_once('.') {
            Some((field, property)) => (field, Some(property)),
            None => (name, None),
        };
        if !valid_name(field) || property.is_some_and(|p| !valid_name(p)) {
            return Err(invalid_order(spec));
        }
        let rest = &keywords[keywords.len() - rest.len()..];
        let (desc, rest) = match rest.split_first() {
            Some((&"asc", rest)) => (false, rest),
            Some((&"desc", rest)) => (true, rest),
            _ => (false, rest),
        };
        let nulls_first = match rest {
            [] => None,
            ["nulls", "first"] => Some(true),
            ["nulls", "last"] => Some(false),
            _ => return Err(invalid_order(spec)),
        };
        terms.push(OrderTerm { field, property, desc, nulls_first });
    }
    Ok(terms)
}

mod records;
use records::Layout;
#[cfg(test)]
mod tests;
