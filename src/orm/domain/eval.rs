//! Evaluating a domain against one record in memory, with the same semantics as the SQL compiler: the
//! reference the compiler is tested against (`tests/domain_sql.rs`).

use std::cmp::Ordering;

use super::operand::{
    check_pattern, column_operand, datetime_day_bound, is_negative, leaf_repr, like_text, non_text_operand,
};
use super::sql::in_params;
use super::{Domain, Op};
use crate::error::{Error, Result};
use crate::orm::model::{FieldType, Model};
use crate::orm::sql::SqlValue;
use crate::types::Value;

impl Domain {
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
            Domain::Any { .. } => return Err(Error::application("dotted paths and any/not any need the database")),
            Domain::Leaf { path, op, value } => {
                if path.len() != 1 || matches!(op, Op::Any | Op::NotAny) {
                    return Err(Error::application("dotted paths and any/not any need the database"));
                }
                let field =
                    model.field(&path[0]).ok_or_else(|| Error::application(format!("Invalid field {:?}", path[0])))?;
                if field.name == "display_name" {
                    // Dropped, as Odoo 17 drops a leaf on its computed display_name (see the compiler).
                    return Ok(true);
                }
                let actual = get(&path[0]).unwrap_or(Value::Bool(false));
                eval_leaf(field.ftype, &actual, *op, value, path)?
            }
        })
    }
}

/// In-memory evaluation of one leaf with the SQL compiler's (Odoo's) semantics; `actual` is the stored cell
/// (`Nil` or `Bool(false)` for NULL).
fn eval_leaf(ftype: FieldType, actual: &Value, op: Op, expected: &Value, path: &[String]) -> Result<bool> {
    let is_bool = ftype == FieldType::Boolean;
    let cell: Option<SqlValue> = match actual {
        Value::Nil => None,
        v if v.is_null() && !is_bool => None,
        v => Some(column_operand(ftype, v)?),
    };
    let day_bound = datetime_day_bound(ftype, op, expected);
    let expected = day_bound.as_ref().unwrap_or(expected);
    Ok(match op {
        Op::EqOpt if expected.is_null() => true,
        Op::In | Op::NotIn => {
            let negate = op == Op::NotIn;
            let items = match expected {
                Value::Bool(_) if is_bool => std::slice::from_ref(expected),
                Value::Bool(b) => return Ok(cell.is_some() == (*b != negate)),
                Value::List(items) => items,
                _ => return Err(Error::application(format!("Invalid domain term {}", leaf_repr(path, op, expected)))),
            };
            let (params, check_null) = in_params(ftype, items)?;
            let member = cell.as_ref().map(|c| params.contains(c));
            match (negate, check_null) {
                (false, false) => member == Some(true),
                (false, true) => member != Some(false),
                (true, false) => member != Some(true),
                (true, true) => member == Some(false),
            }
        }
        Op::Eq | Op::Ne | Op::EqOpt if is_bool && matches!(expected, Value::Bool(_)) => {
            let want = matches!(expected, Value::Bool(true)) != (op == Op::Ne);
            (cell == Some(SqlValue::Bool(true))) == want
        }
        Op::Eq | Op::EqOpt if expected.is_null() => cell.is_none(),
        Op::Ne if expected.is_null() => cell.is_some(),
        Op::Any | Op::NotAny => return Err(Error::application("any/not any need the database")),
        _ => {
            let wildcard = matches!(op, Op::Like | Op::NotLike | Op::ILike | Op::NotILike);
            let likeish = wildcard || matches!(op, Op::EqLike | Op::EqILike);
            let right = if wildcard {
                SqlValue::Text(format!("%{}%", like_text(expected)))
            } else {
                column_operand(ftype, expected)?
            };
            let holds = match (&cell, &right) {
                (None, _) | (_, SqlValue::Null(_)) => false,
                (Some(c), SqlValue::Text(pattern)) if likeish => {
                    check_pattern(pattern)?;
                    let text = match c {
                        SqlValue::Bool(b) => b.to_string(),
                        SqlValue::Float(f) => crate::db::float_text(*f),
                        other => other.as_text(),
                    };
                    let insensitive = matches!(op, Op::ILike | Op::NotILike | Op::EqILike);
                    like_match(&text, pattern, insensitive) != matches!(op, Op::NotLike | Op::NotILike)
                }
                (Some(_), other) if likeish => {
                    let kind = non_text_operand(other).unwrap_or("unknown");
                    return Err(Error::application(format!("operator does not exist: text ~~ {kind}")));
                }
                (Some(c), r) => c.partial_cmp(r).is_some_and(|ord| match op {
                    Op::Ne => ord != Ordering::Equal,
                    Op::Lt => ord == Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                    Op::Gt => ord == Ordering::Greater,
                    Op::Ge => ord != Ordering::Less,
                    _ => ord == Ordering::Equal,
                }),
            };
            let or_null = (wildcard && expected.is_falsy()) || (!expected.is_falsy() && is_negative(op));
            holds || (or_null && cell.is_none())
        }
    })
}

/// SQL LIKE with `\` escapes (`%` any run, `_` one character).
fn like_match(text: &str, pattern: &str, insensitive: bool) -> bool {
    let (text, pattern) = if insensitive {
        (text.to_lowercase(), pattern.to_lowercase())
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
