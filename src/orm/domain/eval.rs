//! Evaluating a domain against one record in memory, with the same semantics as the SQL compiler: the
//! reference the compiler is tested against (`tests/domain_sql.rs`).

use std::cmp::Ordering;

use super::{like_pattern, Domain, Op};
use crate::error::{Error, Result};
use crate::orm::convert::coerce_for_domain;
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
