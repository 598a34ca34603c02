//! Odoo's domain language: parsing the prefix notation, validating it against the registry, compiling it
//! to SQL (every value bound, every column name taken from the registry) and evaluating it in memory
//! (the reference semantics the SQL compiler is tested against).

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::orm::convert::{self, coerce_for_domain};
use crate::orm::model::{FieldType, Model};
use crate::orm::registry::Registry;
use crate::orm::sql::{Sql, SqlValue};
use crate::types::Value;

/// Largest `in` list accepted (databases cap bound parameters; a bigger list is a client bug).
pub const MAX_IN_LIST: usize = 30_000;
/// Most terms (operators and leaves) in one domain list.
pub const MAX_DOMAIN_TERMS: usize = 20_000;
/// Deepest nesting of `&`, `|` and `!` accepted (after flattening chains of one operator).
pub const MAX_DOMAIN_DEPTH: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    EqOpt,
    Like,
    NotLike,
    ILike,
    NotILike,
    EqLike,
    EqILike,
    In,
    NotIn,
    Any,
    NotAny,
}

impl Op {
    /// Odoo's TERM_OPERATORS_NEGATION.
    pub fn negated(self) -> Option<Op> {
        Some(match self {
            Op::Eq => Op::Ne,
            Op::Ne => Op::Eq,
            Op::Lt => Op::Ge,
            Op::Ge => Op::Lt,
            Op::Gt => Op::Le,
            Op::Le => Op::Gt,
            Op::In => Op::NotIn,
            Op::NotIn => Op::In,
            Op::Like => Op::NotLike,
            Op::NotLike => Op::Like,
            Op::ILike => Op::NotILike,
            Op::NotILike => Op::ILike,
            Op::Any => Op::NotAny,
            Op::NotAny => Op::Any,
            Op::EqOpt | Op::EqLike | Op::EqILike => return None,
        })
    }

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "=" | "==" => Op::Eq,
            "!=" | "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "=?" => Op::EqOpt,
            "like" => Op::Like,
            "not like" => Op::NotLike,
            "ilike" => Op::ILike,
            "not ilike" => Op::NotILike,
            "=like" => Op::EqLike,
            "=ilike" => Op::EqILike,
            // No model here has a hierarchy, so child_of/parent_of reduce to membership.
            "in" | "child_of" | "parent_of" => Op::In,
            "not in" => Op::NotIn,
            "any" => Op::Any,
            "not any" => Op::NotAny,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    True,
    False,
    And(Vec<Domain>),
    Or(Vec<Domain>),
    Not(Box<Domain>),
    Leaf { path: Vec<String>, op: Op, value: Value },
}

fn syntax_error(domain: &Value) -> Error {
    let _ = domain;
    Error::application("Domain is syntactically not correct: expected a list of operators ('&', '|', '!') and [field, operator, value] terms in prefix notation.")
}

impl Domain {
    /// Parses a domain in Odoo's prefix notation (implicit `&` between top-level terms).
    pub fn parse(value: &Value) -> Result<Domain> {
        let items = match value {
            Value::List(items) => items,
            v if v.is_null() => return Ok(Domain::True),
            _ => return Err(syntax_error(value)),
        };
        if items.len() > MAX_DOMAIN_TERMS {
            return Err(Error::application(format!("Domain has more than {MAX_DOMAIN_TERMS} terms.")));
        }
        // Each entry carries its nesting depth. Chains of one operator are flattened (`| | a b c` is one
        // Or of three) and `! !` cancels, so long domains stay shallow; what still nests deeper than
        // MAX_DOMAIN_DEPTH is refused, because every later pass over the tree recurses.
        let mut stack: Vec<(Domain, usize)> = Vec::new();
        let too_deep = || Error::application(format!("Domain nests operators more than {MAX_DOMAIN_DEPTH} deep."));
        for item in items.iter().rev() {
            match item {
                Value::Str(op) if op == "&" || op == "|" => {
                    let ((a, da), (b, db)) = match (stack.pop(), stack.pop()) {
                        (Some(a), Some(b)) => (a, b),
                        _ => return Err(syntax_error(value)),
                    };
                    let and = op == "&";
                    let flat = |d: Domain, depth: usize| match d {
                        Domain::And(items) if and => (items, depth.saturating_sub(1)),
                        Domain::Or(items) if !and => (items, depth.saturating_sub(1)),
                        other => (vec![other], depth),
                    };
                    let (mut children, da) = flat(a, da);
                    let (rest, db) = flat(b, db);
                    children.extend(rest);
                    let depth = da.max(db) + 1;
                    if depth > MAX_DOMAIN_DEPTH {
                        return Err(too_deep());
                    }
                    stack.push((if and { Domain::And(children) } else { Domain::Or(children) }, depth));
                }
                Value::Str(op) if op == "!" => {
                    let entry = match stack.pop().ok_or_else(|| syntax_error(value))? {
                        (Domain::Not(inner), depth) => (*inner, depth.saturating_sub(1)),
                        (a, depth) if depth < MAX_DOMAIN_DEPTH => (Domain::Not(Box::new(a)), depth + 1),
                        _ => return Err(too_deep()),
                    };
                    stack.push(entry);
                }
                Value::List(term) => stack.push((Self::parse_leaf(term)?, 1)),
                _ => return Err(syntax_error(value)),
            }
        }
        let mut stack: Vec<Domain> = stack.into_iter().rev().map(|(d, _)| d).collect();
        let domain = match stack.len() {
            0 => Domain::True,
            1 => stack.pop().unwrap_or(Domain::True),
            _ => Domain::And(stack),
        };
        Ok(domain.distribute_not(false))
    }

    /// Pushes `!` down to the leaves by negating their operators, as Odoo does: `!(a = 1)` becomes
    /// `a != 1`, which (like Odoo) keeps rows where `a` is empty. Leaves without a negated operator keep
    /// an explicit `Not`.
    fn distribute_not(self, negate: bool) -> Domain {
        match (self, negate) {
            (Domain::True, true) => Domain::False,
            (Domain::False, true) => Domain::True,
            (Domain::Not(inner), n) => inner.distribute_not(!n),
            (Domain::And(items), false) => Domain::And(items.into_iter().map(|d| d.distribute_not(false)).collect()),
            (Domain::Or(items), false) => Domain::Or(items.into_iter().map(|d| d.distribute_not(false)).collect()),
            (Domain::And(items), true) => Domain::Or(items.into_iter().map(|d| d.distribute_not(true)).collect()),
            (Domain::Or(items), true) => Domain::And(items.into_iter().map(|d| d.distribute_not(true)).collect()),
            (Domain::Leaf { path, op, value }, true) => match op.negated() {
                Some(op) => Domain::Leaf { path, op, value },
                None => Domain::Not(Box::new(Domain::Leaf { path, op, value })),
            },
            (other, _) => other,
        }
    }

    fn parse_leaf(term: &[Value]) -> Result<Domain> {
        let invalid = || Error::application(format!("Invalid leaf {}", describe(term)));
        if term.len() != 3 {
            return Err(invalid());
        }
        let op_str = term[1].as_str().ok_or_else(invalid)?;
        // TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1).
        if let (Some(l), Some(r)) = (term[0].as_i64(), term[2].as_i64()) {
            if op_str == "=" && r == 1 && (l == 0 || l == 1) {
                return Ok(if l == 1 { Domain::True } else { Domain::False });
            }
        }
        let field = term[0].as_str().ok_or_else(invalid)?;
        let op = Op::parse(op_str).ok_or_else(|| {
            Error::application(format!("Invalid leaf {}: unknown operator {op_str:?}", describe(term)))
        })?;
        if field.is_empty() || field.split('.').any(str::is_empty) {
            return Err(invalid());
        }
        Ok(Domain::Leaf { path: field.split('.').map(str::to_string).collect(), op, value: term[2].clone() })
    }

    /// Checks every field path against the registry, so a compiled query only ever names known columns.
    pub fn validate(&self, registry: &Registry, model: &Model) -> Result<()> {
        match self {
            Domain::True | Domain::False => Ok(()),
            Domain::And(items) | Domain::Or(items) => items.iter().try_for_each(|d| d.validate(registry, model)),
            Domain::Not(inner) => inner.validate(registry, model),
            Domain::Leaf { path, op, value } => {
                let mut current = model;
                for (i, part) in path.iter().enumerate() {
                    let field = current.field(part).ok_or_else(|| {
                        Error::application(format!(
                            "Invalid field {}.{} in leaf {:?}",
                            current.name,
                            part,
                            path.join(".")
                        ))
                    })?;
                    let last = i + 1 == path.len();
                    if field.name == "display_name" && !last {
                        return Err(Error::application(format!("Invalid field path {:?}", path.join("."))));
                    }
                    if !last || matches!(op, Op::Any | Op::NotAny) {
                        let comodel = field.ftype.comodel().ok_or_else(|| {
                            Error::application(format!(
                                "Invalid field path {:?}: {} is not a relational field",
                                path.join("."),
                                part
                            ))
                        })?;
                        current = registry.model(comodel)?;
                    }
                }
                if matches!(op, Op::Any | Op::NotAny) {
                    Domain::parse(value)?.validate(registry, current)?;
                }
                Ok(())
            }
        }
    }

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

    /// Evaluates against one record. `get` returns a field's value (`Value::Bool(false)` when empty);
    /// dotted paths and `any` need the database and are not evaluated here.
    pub fn matches(&self, model: &Model, get: &dyn Fn(&str) -> Option<Value>) -> Result<bool> {
        Ok(match self {
            Domain::True => true,
            Domain::False => false,
            Domain::And(items) => {
                for item in items {
                    if !item.matches(model, get)? {
                        return Ok(false);
                    }
                }
                true
            }
            Domain::Or(items) => {
                for item in items {
                    if item.matches(model, get)? {
                        return Ok(true);
                    }
                }
                false
            }
            Domain::Not(inner) => !inner.matches(model, get)?,
            Domain::Leaf { path, op, value } => {
                if path.len() != 1 || matches!(op, Op::Any | Op::NotAny) {
                    return Err(Error::application("dotted paths and any/not any need the database"));
                }
                let field =
                    model.field(&path[0]).ok_or_else(|| Error::application(format!("Invalid field {:?}", path[0])))?;
                let actual = get(&path[0]).unwrap_or(Value::Bool(false));
                eval_leaf(field.ftype, &actual, *op, value)?
            }
        })
    }
}

fn describe(term: &[Value]) -> String {
    let parts: Vec<String> = term
        .iter()
        .map(|v| match v {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            other => other.kind().to_string(),
        })
        .collect();
    format!("({})", parts.join(", "))
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

fn like_pattern(value: &Value, wrap: bool) -> String {
    let raw = match value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        other => other.kind().to_string(),
    };
    if !wrap {
        return raw;
    }
    let escaped = raw.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
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

/// In-memory evaluation of one leaf with the same semantics as the SQL compiler.
fn eval_leaf(ftype: FieldType, actual: &Value, op: Op, expected: &Value) -> Result<bool> {
    let is_bool = ftype == FieldType::Boolean;
    let actual_null = actual.is_null() && !is_bool;
    let actual_sql = if actual_null { None } else { Some(coerce_for_domain(ftype, actual)?) };
    let normalized_bool = |v: Option<SqlValue>| {
        if is_bool && v.is_none() {
            Some(SqlValue::Bool(false))
        } else {
            v
        }
    };
    let actual_sql = normalized_bool(actual_sql);
    Ok(match op {
        Op::EqOpt if expected.is_null() => true,
        Op::Eq | Op::EqOpt | Op::Ne => {
            let equal = if expected.is_null() && !is_bool {
                actual_sql.is_none()
            } else {
                let want = coerce_for_domain(ftype, expected)?;
                actual_sql.as_ref() == Some(&want)
            };
            equal != (op == Op::Ne)
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            if expected.is_null() {
                return Ok(false);
            }
            let want = coerce_for_domain(ftype, expected)?;
            match actual_sql.as_ref().and_then(|a| a.partial_cmp(&want)) {
                None => false,
                Some(ord) => match op {
                    Op::Lt => ord == Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                    Op::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                },
            }
        }
        Op::Like | Op::NotLike | Op::ILike | Op::NotILike | Op::EqLike | Op::EqILike => {
            let negate = matches!(op, Op::NotLike | Op::NotILike);
            if expected.is_null() {
                return Ok(actual_sql.is_none() != negate);
            }
            let Some(text) = actual_sql.as_ref().map(SqlValue::as_text) else {
                return Ok(negate);
            };
            let insensitive = matches!(op, Op::ILike | Op::NotILike | Op::EqILike);
            let pattern = like_pattern(expected, !matches!(op, Op::EqLike | Op::EqILike));
            like_match(&text, &pattern, insensitive) != negate
        }
        Op::In | Op::NotIn => {
            let items: Vec<Value> = match expected {
                Value::List(items) => items.clone(),
                single => vec![single.clone()],
            };
            let mut found = false;
            for item in &items {
                if item.is_null() && !is_bool {
                    found |= actual_sql.is_none();
                } else if actual_sql.as_ref() == Some(&coerce_for_domain(ftype, item)?) {
                    found = true;
                }
            }
            found != (op == Op::NotIn)
        }
        Op::Any | Op::NotAny => return Err(Error::application("any/not any need the database")),
    })
}

/// SQL LIKE with `\` escapes (`%` any run, `_` one character).
fn like_match(text: &str, pattern: &str, insensitive: bool) -> bool {
    let (text, pattern) = if insensitive {
        (text.to_ascii_lowercase(), pattern.to_ascii_lowercase())
    } else {
        (text.to_string(), pattern.to_string())
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            '%' => Tok::Any,
            '_' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `%`.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < toks.len() && (toks[p] == Tok::One || toks[p] == Tok::Lit(text[t])) {
            t += 1;
            p += 1;
        } else if p < toks.len() && toks[p] == Tok::Any {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Any {
        p += 1;
    }
    p == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }
    fn leaf(f: &str, op: &str, v: Value) -> Value {
        list(vec![Value::str(f), Value::str(op), v])
    }

    #[test]
    fn prefix_notation_and_implicit_and() {
        let d = Domain::parse(&list(vec![
            Value::str("|"),
            leaf("a", "=", Value::Int(1)),
            leaf("b", "=", Value::Int(2)),
            leaf("c", "!=", Value::Bool(false)),
        ]))
        .unwrap();
        match d {
            Domain::And(items) => {
                assert_eq!(items.len(), 2);
                assert!(matches!(items[0], Domain::Or(_)));
            }
            other => panic!("unexpected {other:?}"),
        }
        let not = Domain::parse(&list(vec![Value::str("!"), leaf("a", "=", Value::Int(1))])).unwrap();
        assert_eq!(not, Domain::Leaf { path: vec!["a".into()], op: Op::Ne, value: Value::Int(1) });
        let kept = Domain::parse(&list(vec![Value::str("!"), leaf("a", "=like", Value::str("x%"))])).unwrap();
        assert!(matches!(kept, Domain::Not(_)));
        let de_morgan = Domain::parse(&list(vec![
            Value::str("!"),
            Value::str("|"),
            leaf("a", "<", Value::Int(1)),
            leaf("b", "in", list(vec![])),
        ]))
        .unwrap();
        assert_eq!(
            de_morgan,
            Domain::And(vec![
                Domain::Leaf { path: vec!["a".into()], op: Op::Ge, value: Value::Int(1) },
                Domain::Leaf { path: vec!["b".into()], op: Op::NotIn, value: list(vec![]) },
            ])
        );
    }

    #[test]
    fn malformed_domains_are_errors_not_panics() {
        for bad in [
            list(vec![Value::str("&"), leaf("a", "=", Value::Int(1))]),
            list(vec![Value::str("!")]),
            list(vec![Value::Int(3)]),
            list(vec![list(vec![Value::str("a"), Value::str("=")])]),
            list(vec![leaf("a", "regex", Value::Int(1))]),
            list(vec![leaf("a..b", "=", Value::Int(1))]),
            Value::str("[('a','=',1)]"),
        ] {
            assert!(Domain::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_domains_stay_shallow_and_deep_ones_are_refused() {
        let a = || leaf("a", "=", Value::Int(1));
        // 19,999 `|` then 20,000 leaves (too many terms) and 9,999 + 10,000: one flat Or.
        let mut ors: Vec<Value> = vec![Value::str("|"); 9_999];
        ors.extend((0..10_000).map(|_| a()));
        match Domain::parse(&list(ors)).unwrap() {
            Domain::Or(items) => assert_eq!(items.len(), 10_000),
            other => panic!("unexpected {other:?}"),
        }
        // 19,999 `!`: cancelled in pairs, one left.
        let mut nots: Vec<Value> = vec![Value::str("!"); 19_999];
        nots.push(a());
        assert_eq!(
            Domain::parse(&list(nots)).unwrap(),
            Domain::Leaf { path: vec!["a".into()], op: Op::Ne, value: Value::Int(1) }
        );
        // Alternating & and | cannot be flattened: refused past the depth limit, accepted below it.
        let alternating = |n: usize| {
            let mut items = Vec::new();
            for i in 0..n {
                items.push(Value::str(if i % 2 == 0 { "&" } else { "|" }));
                items.push(a());
            }
            items.push(a());
            list(items)
        };
        assert!(Domain::parse(&alternating(MAX_DOMAIN_DEPTH - 1)).is_ok());
        let err = Domain::parse(&alternating(9_000)).unwrap_err();
        assert!(err.message().contains("deep"), "{}", err.message());
    }

    #[test]
    fn true_and_false_leaves() {
        assert_eq!(
            Domain::parse(&list(vec![list(vec![Value::Int(1), Value::str("="), Value::Int(1)])])).unwrap(),
            Domain::True
        );
        assert_eq!(
            Domain::parse(&list(vec![list(vec![Value::Int(0), Value::str("="), Value::Int(1)])])).unwrap(),
            Domain::False
        );
        assert_eq!(Domain::parse(&list(vec![])).unwrap(), Domain::True);
    }

    #[test]
    fn like_matching() {
        assert!(like_match("Fake Bank", "%bank%", true));
        assert!(!like_match("Fake Bank", "%bank%", false));
        assert!(like_match("100%", "%0\\%", false));
        assert!(!like_match("1000", "%0\\%", false));
        assert!(like_match("abc", "a_c", false));
        assert!(like_match("", "%", false));
    }
}
