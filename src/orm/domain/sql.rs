//! Compiling a domain to a SQL boolean expression: every value bound, every column name taken from the
//! registry, relational paths as sub-selects.

use super::operand::{
    check_pattern, column_operand, datetime_day_bound, is_negative, leaf_repr, like_text, non_text_operand,
};
use super::{Domain, Op, MAX_IN_LIST};
use crate::db::Backend;
use crate::error::{Error, Result};
use crate::orm::model::{FieldType, Model};
use crate::orm::registry::Registry;
use crate::orm::sql::{Sql, SqlValue};
use crate::types::Value;

impl Domain {
    /// Compiles to a SQL boolean expression over `alias` (a row of `model`'s table).
    pub fn to_sql(&self, registry: &Registry, model: &Model, alias: &str, sql: &mut Sql) -> Result<()> {
        match self {
            Domain::True => sql.push("1=1"),
            Domain::False => sql.push("1=0"),
            Domain::And(items) | Domain::Or(items) => {
                let joiner = if matches!(self, Domain::And(_)) { " AND " } else { " OR " };
                sql.push("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    item.to_sql(registry, model, alias, sql)?;
                }
                sql.push(")");
            }
            Domain::Not(inner) => {
                // Two-valued like the evaluator: an unknown (NULL) comparison counts as false before NOT.
                sql.push("NOT COALESCE((");
                inner.to_sql(registry, model, alias, sql)?;
                sql.push("), 1=0)");
            }
            Domain::Leaf { path, op, value } => leaf_sql(registry, model, alias, path, Term::Compare(*op, value), sql)?,
            Domain::Any { path, negate, domain, .. } => {
                leaf_sql(registry, model, alias, path, Term::Any { negate: *negate, domain }, sql)?
            }
        }
        Ok(())
    }
}

/// What a leaf says of the field its path ends at.
#[derive(Clone, Copy)]
enum Term<'d> {
    Compare(Op, &'d Value),
    Any { negate: bool, domain: &'d Domain },
}

fn leaf_sql(
    registry: &Registry,
    model: &Model,
    alias: &str,
    path: &[String],
    term: Term<'_>,
    sql: &mut Sql,
) -> Result<()> {
    let field =
        model.field(&path[0]).ok_or_else(|| Error::application(format!("Invalid field {}.{}", model.name, path[0])))?;
    // Relational hops: a.b.c becomes a IN (SELECT id FROM comodel WHERE b.c …).
    if path.len() > 1 || matches!(term, Term::Any { .. }) {
        let comodel = registry.model(field.ftype.comodel().unwrap_or(""))?;
        let sub_alias = sql.next_alias();
        let negate = matches!(term, Term::Any { negate: true, .. });
        let not = if negate { "NOT " } else { "" };
        let is_many2one = matches!(field.ftype, FieldType::Many2one(_));
        match field.ftype {
            FieldType::Many2one(_) => {
                let col = format!("{alias}.{}", field.name);
                let open = if negate { format!("({col} IS NULL OR {col} NOT IN") } else { format!("{col} IN") };
                sql.push(&format!("{open} (SELECT {sub_alias}.id FROM {} {sub_alias} WHERE ", comodel.table));
            }
            FieldType::One2many(_, inverse) => {
                sql.push(&format!(
                    "{alias}.id {not}IN (SELECT {sub_alias}.{inverse} FROM {} {sub_alias} WHERE {sub_alias}.{inverse} IS NOT NULL AND ",
                    comodel.table
                ));
            }
            _ => return Err(Error::application(format!("{} is not a relational field", field.name))),
        }
        match term {
            _ if path.len() > 1 => leaf_sql(registry, comodel, &sub_alias, &path[1..], term, sql)?,
            Term::Any { domain, .. } => domain.to_sql(registry, comodel, &sub_alias, sql)?,
            // Not reached: a comparison on one field takes no hop.
            Term::Compare(..) => return Err(Error::application("a comparison without a path to follow")),
        }
        sql.push(if negate && is_many2one { "))" } else { ")" });
        return Ok(());
    }
    let Term::Compare(op, value) = term else {
        // Not reached: `any` always takes the hop above.
        return Err(Error::application("any/not any need a relational field"));
    };

    if field.name == "display_name" {
        // Odoo 17 cannot search its computed display_name: it logs an error and drops the leaf (every record
        // matches). Search the name field (`name_search`) instead.
        sql.push("1=1");
        return Ok(());
    }
    match field.ftype {
        // A name (or names) against a many2one: Odoo resolves it with the comodel's name_search.
        FieldType::Many2one(comodel_name) if names_operand(value) => {
            let comodel = registry.model(comodel_name)?;
            let op = match (op, value) {
                (Op::Lt | Op::Gt | Op::Le | Op::Ge, Value::Str(_)) => Op::Eq,
                (Op::Lt | Op::Gt | Op::Le | Op::Ge, _) => Op::In,
                (Op::In, Value::Str(_)) => Op::Eq,
                (Op::NotIn, Value::Str(_)) => Op::Ne,
                (Op::Eq, Value::List(_)) => Op::In,
                (Op::Ne, Value::List(_)) => Op::NotIn,
                (op, _) => op,
            };
            let col = format!("{alias}.{}", field.name);
            let sub = sql.next_alias();
            sql.push(&format!("({col} IN (SELECT {sub}.id FROM {} {sub} WHERE ", comodel.table));
            name_condition(comodel, &sub, op, value, sql)?;
            sql.push(")");
            if is_negative(op) {
                sql.push(&format!(" OR {col} IS NULL"));
            }
            sql.push(")");
            Ok(())
        }
        // Any operator on a one2many means "has a line among these" (or, negative, "has none of these").
        FieldType::One2many(comodel_name, inverse) => {
            let comodel = registry.model(comodel_name)?;
            let sub = sql.next_alias();
            let negative = is_negative(op);
            let lines =
                format!("SELECT {sub}.{inverse} FROM {} {sub} WHERE {sub}.{inverse} IS NOT NULL", comodel.table);
            if matches!(value, Value::Bool(false)) {
                let not = if negative { "" } else { "NOT " };
                sql.push(&format!("{alias}.id {not}IN ({lines})"));
                return Ok(());
            }
            let not = if negative { "NOT " } else { "" };
            sql.push(&format!("{alias}.id {not}IN ({lines} AND "));
            match value {
                Value::Str(_) => {
                    let positive = if negative { op.negated().unwrap_or(op) } else { op };
                    name_condition(comodel, &sub, positive, value, sql)?;
                }
                Value::List(items) => {
                    let ids = record_ids(items)?;
                    if ids.is_empty() {
                        sql.push("1=0");
                    } else {
                        sql.push_id_in(&format!("{sub}.id"), &ids);
                    }
                }
                single => {
                    let ids = record_ids(std::slice::from_ref(single))?;
                    sql.push_id_in(&format!("{sub}.id"), &ids);
                }
            }
            sql.push(")");
            Ok(())
        }
        ftype => column_sql(alias, field.name, ftype, op, value, path, sql),
    }
}

/// Whether a relational operand is a name (or names) to look up rather than ids.
fn names_operand(value: &Value) -> bool {
    match value {
        Value::Str(_) => true,
        Value::List(items) => !items.is_empty() && items.iter().all(|i| matches!(i, Value::Str(_))),
        _ => false,
    }
}

/// Odoo's `_name_search(value, [], op)` on `comodel` as a condition on `sub`: its name field compared with
/// `op`, or no condition for `like ''`/`ilike ''`, which match every record.
fn name_condition(comodel: &Model, sub: &str, op: Op, value: &Value, sql: &mut Sql) -> Result<()> {
    if matches!(op, Op::Like | Op::ILike) && value.as_str() == Some("") {
        sql.push("1=1");
        return Ok(());
    }
    let name_field = comodel
        .field(comodel.rec_name)
        .ok_or_else(|| Error::application(format!("Cannot execute name_search on {}", comodel.name)))?;
    column_sql(sub, name_field.name, name_field.ftype, op, value, &[name_field.name.to_string()], sql)
}

/// Record ids given to a one2many leaf; anything else is what PostgreSQL would refuse in an id list.
fn record_ids(items: &[Value]) -> Result<Vec<i64>> {
    items
        .iter()
        .filter(|v| !v.is_null())
        .map(|v| {
            v.as_i64().ok_or_else(|| {
                Error::application(format!("invalid input syntax for type integer: \"{}\"", like_text(v)))
            })
        })
        .collect()
}

/// The column as PostgreSQL's `::text` renders it, the same on both backends: what like operators compare.
fn column_text(backend: Backend, col: &str, ftype: FieldType) -> String {
    match (ftype, backend) {
        (FieldType::Char | FieldType::Text | FieldType::Selection(_) | FieldType::Date | FieldType::Datetime, _) => {
            col.to_string()
        }
        (FieldType::Boolean | FieldType::Float, Backend::Postgres) => format!("{col}::text"),
        (FieldType::Boolean, Backend::Sqlite) => {
            format!("(CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN 'true' ELSE 'false' END)")
        }
        (FieldType::Float, Backend::Sqlite) => format!("pg_float_text({col})"),
        _ => format!("CAST({col} AS TEXT)"),
    }
}

/// Odoo 17's `__leaf_to_sql` for a stored column: `in` lists with their NULL rule, booleans read as False
/// when NULL, `= False` as IS NULL, like operators on the column's text with the value wrapped in `%…%` as
/// given (`%` and `_` are wildcards, a backslash escapes), an empty like value matching every row, and
/// negative operators keeping NULL rows when the value is set.
fn column_sql(
    alias: &str,
    column: &str,
    ftype: FieldType,
    op: Op,
    value: &Value,
    path: &[String],
    sql: &mut Sql,
) -> Result<()> {
    let col = format!("{alias}.{column}");
    let is_bool = ftype == FieldType::Boolean;
    let day_bound = datetime_day_bound(ftype, op, value);
    let value = day_bound.as_ref().unwrap_or(value);
    match op {
        Op::EqOpt if value.is_null() => sql.push("1=1"),
        Op::In | Op::NotIn => {
            let negate = op == Op::NotIn;
            let items = match value {
                // An abuse Odoo keeps: `in True` and `not in False` mean "is set".
                Value::Bool(_) if is_bool => std::slice::from_ref(value),
                Value::Bool(b) => {
                    sql.push(&format!("({col} IS {}NULL)", if *b != negate { "NOT " } else { "" }));
                    return Ok(());
                }
                Value::List(items) => items,
                _ => return Err(Error::application(format!("Invalid domain term {}", leaf_repr(path, op, value)))),
            };
            if items.len() > MAX_IN_LIST {
                return Err(Error::application(format!("An 'in' list may hold at most {MAX_IN_LIST} values.")));
            }
            let (params, check_null) = in_params(ftype, items)?;
            sql.push("(");
            let ints: Option<Vec<i64>> =
                params.iter().map(|p| if let SqlValue::Int(n) = p { Some(*n) } else { None }).collect();
            if params.is_empty() {
                sql.push(if negate { "1=1" } else { "1=0" });
            } else if let Some(ints) = ints {
                // Ids and numbers bound as one list: the same statement text whatever the client lists.
                if negate {
                    sql.push_id_not_in(&col, &ints);
                } else {
                    sql.push_id_in(&col, &ints);
                }
            } else {
                sql.push(&format!("{col} {}IN (", if negate { "NOT " } else { "" }));
                for (i, param) in params.into_iter().enumerate() {
                    if i > 0 {
                        sql.push(",");
                    }
                    sql.bind(param);
                }
                sql.push(")");
            }
            match (negate, check_null) {
                (false, true) | (true, false) => sql.push(&format!(" OR {col} IS NULL")),
                (true, true) => sql.push(&format!(" AND {col} IS NOT NULL")),
                (false, false) => {}
            }
            sql.push(")");
        }
        Op::Eq | Op::Ne | Op::EqOpt if is_bool && matches!(value, Value::Bool(_)) => {
            let want = matches!(value, Value::Bool(true)) != (op == Op::Ne);
            sql.push(&if want { format!("({col} = TRUE)") } else { format!("({col} IS NULL OR {col} = FALSE)") });
        }
        Op::Eq | Op::EqOpt if value.is_null() => sql.push(&format!("({col} IS NULL)")),
        Op::Ne if value.is_null() => sql.push(&format!("({col} IS NOT NULL)")),
        Op::Any | Op::NotAny => return Err(Error::application("any/not any need a relational field")),
        _ => {
            let wildcard = matches!(op, Op::Like | Op::NotLike | Op::ILike | Op::NotILike);
            let likeish = wildcard || matches!(op, Op::EqLike | Op::EqILike);
            let right = if wildcard {
                SqlValue::Text(format!("%{}%", like_text(value)))
            } else {
                column_operand(ftype, value)?
            };
            sql.push("(");
            if likeish {
                if let Some(kind) = non_text_operand(&right) {
                    return Err(Error::application(format!("operator does not exist: text ~~ {kind}")));
                }
                if let SqlValue::Text(pattern) = &right {
                    check_pattern(pattern)?;
                }
                let left = column_text(sql.backend(), &col, ftype);
                let not = if matches!(op, Op::NotLike | Op::NotILike) { "NOT " } else { "" };
                let insensitive = matches!(op, Op::ILike | Op::NotILike | Op::EqILike);
                match (insensitive, sql.backend()) {
                    (true, Backend::Postgres) => {
                        sql.push(&format!("({left} {not}ILIKE "));
                        sql.bind(right);
                        sql.push(")");
                    }
                    // SQLite's own lower() folds ASCII only: unicode_lower (registered at connect) folds all.
                    (true, Backend::Sqlite) => {
                        sql.push(&format!("(unicode_lower({left}) {not}LIKE unicode_lower("));
                        sql.bind(right);
                        sql.push(") ESCAPE '\\')");
                    }
                    (false, Backend::Postgres) => {
                        sql.push(&format!("({left} {not}LIKE "));
                        sql.bind(right);
                        sql.push(")");
                    }
                    (false, Backend::Sqlite) => {
                        sql.push(&format!("({left} {not}LIKE "));
                        sql.bind(right);
                        sql.push(" ESCAPE '\\')");
                    }
                }
            } else {
                let sym = match op {
                    Op::Ne => "<>",
                    Op::Lt => "<",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                    _ => "=",
                };
                sql.push(&format!("({col} {sym} "));
                sql.bind(right);
                sql.push(")");
            }
            if (wildcard && value.is_falsy()) || (!value.is_falsy() && is_negative(op)) {
                sql.push(&format!(" OR {col} IS NULL"));
            }
            sql.push(")");
        }
    }
    Ok(())
}

/// The values of an `in` list as Odoo binds them, and whether NULL rows match too (a False or None in the
/// list; for a boolean, False).
pub(super) fn in_params(ftype: FieldType, items: &[Value]) -> Result<(Vec<SqlValue>, bool)> {
    if ftype == FieldType::Boolean {
        // Python's `True in right` / `False in right`: 1 and 1.0 equal True, 0 and 0.0 equal False.
        let has = |want: bool| {
            items.iter().any(|v| match v {
                Value::Bool(b) => *b == want,
                Value::Int(i) => *i == i64::from(want),
                Value::Float(f) => *f == f64::from(u8::from(want)),
                _ => false,
            })
        };
        let params = [true, false].into_iter().filter(|b| has(*b)).map(SqlValue::Bool).collect();
        return Ok((params, has(false)));
    }
    let concrete: Vec<&Value> = items.iter().filter(|v| !v.is_null()).collect();
    let check_null = concrete.len() < items.len();
    let params = concrete.into_iter().map(|v| column_operand(ftype, v)).collect::<Result<Vec<_>>>()?;
    Ok((params, check_null))
}
