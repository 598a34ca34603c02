//! Compiling a domain to a SQL boolean expression: every value bound, every column name taken from the
//! registry, relational paths as sub-selects.

use super::{like_pattern, Domain, Op, MAX_IN_LIST};
use crate::error::{Error, Result};
use crate::orm::convert::{self, coerce_for_domain};
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
            Domain::Leaf { path, op, value } => leaf_sql(registry, model, alias, path, *op, value, sql)?,
        }
        Ok(())
    }
}

fn leaf_sql(
    registry: &Registry,
    model: &Model,
    alias: &str,
    path: &[String],
    op: Op,
    value: &Value,
    sql: &mut Sql,
) -> Result<()> {
    let field =
        model.field(&path[0]).ok_or_else(|| Error::application(format!("Invalid field {}.{}", model.name, path[0])))?;
    // Relational hops: a.b.c becomes a IN (SELECT id FROM comodel WHERE b.c …).
    if path.len() > 1 || matches!(op, Op::Any | Op::NotAny) {
        let comodel = registry.model(field.ftype.comodel().unwrap_or(""))?;
        let sub_alias = sql.next_alias();
        let negate = op == Op::NotAny;
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
        if path.len() > 1 {
            leaf_sql(registry, comodel, &sub_alias, &path[1..], op, value, sql)?;
        } else {
            Domain::parse(value)?.to_sql(registry, comodel, &sub_alias, sql)?;
        }
        sql.push(if negate && is_many2one { "))" } else { ")" });
        return Ok(());
    }

    if field.name == "display_name" {
        // display_name is the record's name field.
        let name_field = model.field(model.rec_name).unwrap_or(field);
        return column_sql(alias, name_field.name, FieldType::Char, op, value, sql);
    }
    match field.ftype {
        FieldType::One2many(comodel_name, inverse) => {
            let comodel = registry.model(comodel_name)?;
            let sub = sql.next_alias();
            let exists = format!("EXISTS (SELECT 1 FROM {} {sub} WHERE {sub}.{inverse} = {alias}.id", comodel.table);
            match (op, value.is_null()) {
                (Op::Eq, true) => sql.push(&format!("NOT {exists})")),
                (Op::Ne, true) => sql.push(&format!("{exists})")),
                (Op::In | Op::Eq, false) | (Op::NotIn | Op::Ne, false) => {
                    let ids = convert::id_list(value)?;
                    let neg = if matches!(op, Op::NotIn | Op::Ne) { "NOT " } else { "" };
                    sql.push(&format!("{neg}{exists} AND {sub}.id IN ({}))", join_ids(&ids)));
                }
                _ => {
                    return Err(Error::application(format!("Operator not supported on one2many field {}", field.name)))
                }
            }
            Ok(())
        }
        ftype => column_sql(alias, field.name, ftype, op, value, sql),
    }
}

fn join_ids(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".to_string();
    }
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn column_sql(alias: &str, column: &str, ftype: FieldType, op: Op, value: &Value, sql: &mut Sql) -> Result<()> {
    let col = format!("{alias}.{column}");
    let is_bool = ftype == FieldType::Boolean;
    match op {
        Op::EqOpt if value.is_null() => sql.push("1=1"),
        Op::Eq | Op::EqOpt | Op::Ne => {
            let negate = op == Op::Ne;
            if value.is_null() && !is_bool {
                sql.push(&format!("{col} IS {}NULL", if negate { "NOT " } else { "" }));
            } else {
                let bound = coerce_for_domain(ftype, value)?;
                // Odoo reads a NULL boolean as False, and `!=` keeps NULL rows.
                let null_matches = (is_bool && bound == SqlValue::Bool(false)) != negate;
                if negate {
                    sql.push(&format!("({col} <> "));
                } else {
                    sql.push(&format!("({col} = "));
                }
                sql.bind(bound);
                sql.push(&format!("{})", if null_matches { format!(" OR {col} IS NULL") } else { String::new() }));
            }
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            if value.is_null() {
                sql.push("1=0");
            } else {
                let sym = match op {
                    Op::Lt => "<",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    _ => ">=",
                };
                sql.push(&format!("{col} {sym} "));
                sql.bind(coerce_for_domain(ftype, value)?);
            }
        }
        Op::Like | Op::NotLike | Op::ILike | Op::NotILike | Op::EqLike | Op::EqILike => {
            let insensitive = matches!(op, Op::ILike | Op::NotILike | Op::EqILike);
            let negate = matches!(op, Op::NotLike | Op::NotILike);
            if value.is_null() {
                sql.push(&format!("{col} IS {}NULL", if negate { "NOT " } else { "" }));
                return Ok(());
            }
            let pattern = like_pattern(value, !matches!(op, Op::EqLike | Op::EqILike));
            let (lhs, rhs_open, rhs_close) =
                if insensitive { (format!("LOWER({col})"), "LOWER(", ")") } else { (col.clone(), "", "") };
            if negate {
                sql.push(&format!("({lhs} NOT LIKE {rhs_open}"));
            } else {
                sql.push(&format!("({lhs} LIKE {rhs_open}"));
            }
            sql.bind(SqlValue::Text(pattern));
            sql.push(&format!("{rhs_close} ESCAPE '\\'"));
            if negate {
                sql.push(&format!(" OR {col} IS NULL"));
            }
            sql.push(")");
        }
        Op::In | Op::NotIn => {
            let negate = op == Op::NotIn;
            let items: Vec<Value> = match value {
                Value::List(items) => items.clone(),
                single => vec![single.clone()],
            };
            if items.len() > MAX_IN_LIST {
                return Err(Error::application(format!("An 'in' list may hold at most {MAX_IN_LIST} values.")));
            }
            let has_null = items.iter().any(|v| v.is_null() && !is_bool);
            let concrete: Vec<&Value> = items.iter().filter(|v| !v.is_null() || is_bool).collect();
            let mut parts = 0;
            sql.push("(");
            if !concrete.is_empty() {
                sql.push(&format!("{col} {}IN (", if negate { "NOT " } else { "" }));
                let integral = matches!(ftype, FieldType::Integer | FieldType::Many2one(_));
                for (i, item) in concrete.iter().enumerate() {
                    if i > 0 {
                        sql.push(",");
                    }
                    match coerce_for_domain(ftype, item)? {
                        // Integers are rendered from parsed i64s, never from client text.
                        SqlValue::Int(n) if integral => sql.push(&n.to_string()),
                        other => sql.bind(other),
                    }
                }
                sql.push(")");
                parts += 1;
            }
            match (negate, has_null) {
                (false, true) => {
                    sql.push(&format!("{}{col} IS NULL", if parts > 0 { " OR " } else { "" }));
                    parts += 1;
                }
                (true, true) => {
                    sql.push(&format!("{}{col} IS NOT NULL", if parts > 0 { " AND " } else { "" }));
                    parts += 1;
                }
                (true, false) if parts > 0 => sql.push(&format!(" OR {col} IS NULL")),
                _ => {}
            }
            if parts == 0 {
                sql.push(if negate { "1=1" } else { "1=0" });
            }
            sql.push(")");
        }
        Op::Any | Op::NotAny => return Err(Error::application("any/not any need a relational field")),
    }
    Ok(())
}
