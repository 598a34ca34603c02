//! Odoo 19's domain semantics, as a rewrite into the domains the compiler reads with Odoo 17's rules.
//!
//! Odoo 19 (`odoo/orm/domains.py`, `fields.py`) normalises each condition before compiling it: `=`/`!=`
//! become `in`/`not in` a set, one value stands for a one-value list, `=?` with no value is no condition,
//! like operators take a text (no pattern matches as Odoo 19 decides), `display_name` is searched
//! through the model's name field, and a relational field compared by like or by names searches the
//! comodel's display name. Char, text and numeric fields have a *falsy value* ('' or 0) that compares as
//! NULL does. Each rule below is stated in leaves whose Odoo 17 meaning is exactly Odoo 19's answer.

use super::{Domain, Op};
use crate::error::{Error, Result};
use crate::orm::model::{FieldType, Model};
use crate::orm::registry::Registry;
use crate::orm::serie::OdooSerie;
use crate::types::Value;

impl Domain {
    /// The domain as the compiler reads it for a call of `serie`: as parsed for Odoo 17, restated with
    /// Odoo 19's meaning for Odoo 19. `validate` first: the rewrite names only fields that exist.
    pub fn for_serie(self, serie: OdooSerie, registry: &Registry, model: &Model) -> Result<Domain> {
        match serie {
            OdooSerie::V17 => Ok(self),
            OdooSerie::V19 => self.odoo19(registry, model),
        }
    }

    /// This domain with Odoo 19's meaning, restated for the Odoo 17 compiler. A client's own `any`
    /// conditions are left as they are.
    fn odoo19(self, registry: &Registry, model: &Model) -> Result<Domain> {
        Ok(match self {
            Domain::And(items) => {
                Domain::And(items.into_iter().map(|d| d.odoo19(registry, model)).collect::<Result<_>>()?)
            }
            Domain::Or(items) => {
                Domain::Or(items.into_iter().map(|d| d.odoo19(registry, model)).collect::<Result<_>>()?)
            }
            Domain::Not(inner) => Domain::Not(Box::new(inner.odoo19(registry, model)?)),
            Domain::Leaf { path, op, value } if path.len() == 1 => condition(registry, model, &path[0], op, value)?,
            // `a.b op v` is `a any (b op v)`, the condition read on the comodel with Odoo 19's meaning.
            Domain::Leaf { mut path, op, value } => {
                let Some(comodel) = model.field(&path[0]).and_then(|f| f.ftype.comodel()) else {
                    return Ok(Domain::Leaf { path, op, value });
                };
                let comodel = registry.model(comodel)?;
                let rest = path.split_off(1);
                let inner = Domain::Leaf { path: rest, op, value }.odoo19(registry, comodel)?;
                any(&path[0], false, inner)
            }
            other => other,
        })
    }

    /// The domain in Odoo's prefix notation, as `Domain::parse` reads it back.
    fn to_value(&self) -> Value {
        let mut out = Vec::new();
        self.push_terms(&mut out);
        Value::List(out)
    }

    fn push_terms(&self, out: &mut Vec<Value>) {
        let leaf = |f: Value, op: &str, v: Value| Value::List(vec![f, Value::str(op), v]);
        match self {
            Domain::True => out.push(leaf(Value::Int(1), "=", Value::Int(1))),
            Domain::False => out.push(leaf(Value::Int(0), "=", Value::Int(1))),
            Domain::And(items) | Domain::Or(items) => {
                let op = if matches!(self, Domain::And(_)) { "&" } else { "|" };
                out.extend((1..items.len()).map(|_| Value::str(op)));
                items.iter().for_each(|d| d.push_terms(out));
            }
            Domain::Not(inner) => {
                out.push(Value::str("!"));
                inner.push_terms(out);
            }
            Domain::Leaf { path, op, value } => out.push(leaf(Value::str(path.join(".")), op.as_str(), value.clone())),
            Domain::Any { path, negate, domain, .. } => {
                let op = if *negate { Op::NotAny } else { Op::Any };
                out.push(leaf(Value::str(path.join(".")), op.as_str(), domain.to_value()));
            }
        }
    }
}

/// `(field, 'any' | 'not any', inner)`, the inner domain already read.
fn any(field: &str, negate: bool, inner: Domain) -> Domain {
    let value = inner.to_value();
    Domain::Any { path: vec![field.to_string()], negate, domain: Box::new(inner), value }
}

fn leaf(field: &str, op: Op, value: Value) -> Domain {
    Domain::Leaf { path: vec![field.to_string()], op, value }
}

/// Python's truth value (`not value`).
fn falsy(value: &Value) -> bool {
    value.is_falsy()
}

/// Odoo 19's operator optimisations (`_operator_equal_if_value`, `_operator_equal_as_in`,
/// `_optimize_in_set`, `_optimize_like_str`), which do not depend on the field: the condition as an
/// operator and a value, or a constant domain.
fn normalise(field: &str, relational: bool, op: Op, value: Value) -> Result<std::result::Result<(Op, Value), Domain>> {
    Ok(match op {
        Op::EqOpt if falsy(&value) => Err(Domain::True),
        Op::EqOpt | Op::Eq | Op::Ne => {
            let op = if op == Op::Ne { Op::NotIn } else { Op::In };
            Ok(match value {
                Value::List(items) if items.is_empty() => (op, Value::List(vec![Value::Bool(false)])),
                Value::List(items) => (op, Value::List(items)),
                one => (op, Value::List(vec![one])),
            })
        }
        Op::In | Op::NotIn => match value {
            v if falsy(&v) => Err(if op == Op::In { Domain::False } else { Domain::True }),
            Value::List(items) => Ok((op, Value::List(items))),
            one => Ok((op, Value::List(vec![one]))),
        },
        Op::Like | Op::NotLike | Op::ILike | Op::NotILike | Op::EqLike | Op::EqILike if falsy(&value) => {
            // `=like ''` matches the empty value only, `like ''` everything; relational fields keep NULL apart.
            let negative = matches!(op, Op::NotLike | Op::NotILike);
            let equal = matches!(op, Op::EqLike | Op::EqILike);
            let set = negative == equal;
            if relational || equal {
                Ok((if set { Op::NotIn } else { Op::In }, Value::List(vec![Value::Bool(false)])))
            } else {
                Err(if set { Domain::True } else { Domain::False })
            }
        }
        Op::Like | Op::NotLike | Op::ILike | Op::NotILike => match value {
            Value::Str(s) => Ok((op, Value::Str(s))),
            other => Ok((op, Value::str(super::operand::like_text(&other)))),
        },
        Op::EqLike | Op::EqILike if !matches!(value, Value::Str(_)) => {
            return Err(Error::python(
                "builtins.TypeError",
                format!("The pattern to match must be a string in condition {}", condition_repr(field, op, &value)),
            ))
        }
        op => Ok((op, value)),
    })
}

/// A condition as Odoo 19 prints it in its errors: `('name', 'in', 'sav')`.
fn condition_repr(field: &str, op: Op, value: &Value) -> String {
    super::operand::leaf_repr(&[field.to_string()], op, value)
}

/// Python's class of a value, as `type(value)` prints it.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Nil => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Int(_) => "<class 'int'>",
        Value::Float(_) => "<class 'float'>",
        Value::Str(_) => "<class 'str'>",
        Value::List(_) | Value::Records(_) => "<class 'list'>",
        Value::Map(_) => "<class 'dict'>",
    }
}

/// One condition `(field, op, value)` on `model` with Odoo 19's meaning.
fn condition(registry: &Registry, model: &Model, field_name: &str, op: Op, value: Value) -> Result<Domain> {
    let Some(field) = model.field(field_name) else {
        return Ok(leaf(field_name, op, value));
    };
    let relational = field.ftype.comodel().is_some();
    let (op, value) = match normalise(field.name, relational, op, value)? {
        Ok(condition) => condition,
        Err(constant) => return Ok(constant),
    };
    if field.name == "display_name" {
        return display_name(registry, model, op, value);
    }
    Ok(match field.ftype {
        FieldType::Many2one(comodel) => relational_condition(registry, field.name, comodel, op, value)?,
        FieldType::One2many(comodel, _) => match (op, value) {
            // On a one2many, False in the set means "no line": 17 spells that `= False`.
            (Op::In | Op::NotIn, Value::List(items)) if items.iter().any(Value::is_null) => {
                let ids: Vec<Value> = items.into_iter().filter(|v| !v.is_null()).collect();
                let none = leaf(field.name, if op == Op::In { Op::Eq } else { Op::Ne }, Value::Bool(false));
                if ids.is_empty() {
                    none
                } else {
                    let rest = relational_condition(registry, field.name, comodel, op, Value::List(ids))?;
                    if op == Op::In {
                        Domain::Or(vec![none, rest])
                    } else {
                        Domain::And(vec![none, rest])
                    }
                }
            }
            (Op::Lt | Op::Le | Op::Gt | Op::Ge, _) => {
                return Err(Error::python(
                    "builtins.AssertionError",
                    format!("Relational field {}.{} expects 'any' operator", model.name, field.name),
                ))
            }
            (op, value) => relational_condition(registry, field.name, comodel, op, value)?,
        },
        FieldType::Boolean => boolean_condition(field.name, op, value)?,
        ftype => match falsy_value(field.name, ftype) {
            Some(null) => falsy_condition(field.name, ftype, null, op, value),
            None => leaf(field.name, op, value),
        },
    })
}

/// `BaseModel._search_display_name`: the name field compared with the same operator and value.
fn display_name(registry: &Registry, model: &Model, op: Op, value: Value) -> Result<Domain> {
    if model.field(model.rec_name).is_none() {
        return Ok(Domain::True);
    }
    condition(registry, model, model.rec_name, op, value)
}

/// `_optimize_relational_name_search`: like operators and names look the comodel's display name up.
fn relational_condition(registry: &Registry, field: &str, comodel: &str, op: Op, value: Value) -> Result<Domain> {
    let positive = match op {
        Op::NotLike => Op::Like,
        Op::NotILike => Op::ILike,
        Op::NotIn => Op::In,
        op => op,
    };
    let negate = positive != op;
    let comodel = registry.model(comodel)?;
    let names = |op: Op, value: Value| condition(registry, comodel, "display_name", op, value);
    match (op, value) {
        (Op::Like | Op::NotLike | Op::ILike | Op::NotILike | Op::EqLike | Op::EqILike, value) => {
            Ok(any(field, negate, names(positive, value)?))
        }
        (Op::In | Op::NotIn, Value::List(items)) if items.iter().any(|v| matches!(v, Value::Str(_))) => {
            let (strs, others): (Vec<Value>, Vec<Value>) = items.into_iter().partition(|v| matches!(v, Value::Str(_)));
            let by_name = any(field, negate, names(Op::In, Value::List(strs))?);
            if others.is_empty() {
                return Ok(by_name);
            }
            let by_id = leaf(field, op, Value::List(others));
            Ok(if op == Op::In { Domain::Or(vec![by_name, by_id]) } else { Domain::And(vec![by_name, by_id]) })
        }
        (op, value) => Ok(leaf(field, op, value)),
    }
}

/// `_optimize_boolean_in`: the values read as booleans, and a lone False compared as its opposite.
fn boolean_condition(field: &str, op: Op, value: Value) -> Result<Domain> {
    let items = match (op, value) {
        (Op::In | Op::NotIn, Value::List(items)) => items,
        (op, value) => {
            return Err(Error::python(
                "builtins.ValueError",
                format!(
                    "Cannot compare {} to {} which is not a collection of length 1 in condition {}",
                    super::operand::py_repr(&Value::str(field)),
                    python_type(&value),
                    condition_repr(field, op, &value)
                ),
            ))
        }
    };
    let truth = |v: &Value| match v {
        Value::Str(s) => !matches!(s.to_ascii_lowercase().as_str(), "" | "0" | "false" | "off" | "n" | "no" | "f"),
        other => !other.is_falsy(),
    };
    let mut bools: Vec<bool> = Vec::new();
    for b in items.iter().map(truth) {
        if !bools.contains(&b) {
            bools.push(b);
        }
    }
    if bools == [false] {
        let flipped = if op == Op::In { Op::NotIn } else { Op::In };
        return Ok(leaf(field, flipped, Value::List(vec![Value::Bool(true)])));
    }
    Ok(leaf(field, op, Value::List(bools.into_iter().map(Value::Bool).collect())))
}

/// The value Odoo 19 compares as NULL (`Field.falsy_value`): '' for char and text, 0 for numbers (not for
/// `id`, whose field class has none).
fn falsy_value(field: &str, ftype: FieldType) -> Option<Value> {
    match ftype {
        _ if field == "id" => None,
        FieldType::Char | FieldType::Text => Some(Value::str("")),
        FieldType::Integer => Some(Value::Int(0)),
        FieldType::Float => Some(Value::Float(0.0)),
        _ => None,
    }
}

/// What Odoo 19 compares a value as (`convert_to_cache`): None when Python would refuse it.
fn as_field_value(ftype: FieldType, value: &Value) -> Option<Value> {
    Some(match ftype {
        FieldType::Char | FieldType::Text => match value {
            v if v.is_null() => Value::str(""),
            Value::Str(s) => Value::Str(s.clone()),
            Value::Int(_) | Value::Float(_) | Value::Bool(true) => Value::str(super::operand::like_text(value)),
            _ => return None,
        },
        FieldType::Integer => match value {
            v if v.is_null() => Value::Int(0),
            Value::Int(i) => Value::Int(*i),
            Value::Bool(true) => Value::Int(1),
            Value::Float(f) if f.is_finite() => Value::Int(f.trunc() as i64),
            Value::Str(s) => Value::Int(s.trim().parse().ok()?),
            _ => return None,
        },
        FieldType::Float => match value {
            v if v.is_null() => Value::Float(0.0),
            Value::Int(i) => Value::Float(*i as f64),
            Value::Float(f) => Value::Float(*f),
            Value::Bool(true) => Value::Float(1.0),
            Value::Str(s) => Value::Float(s.trim().parse().ok()?),
            _ => return None,
        },
        _ => return None,
    })
}

/// Orders two values of one field type as Python does.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Str(a), Value::Str(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
        _ => None,
    }
}

/// `Field._condition_to_sql` for a field with a falsy value: in `in`/`not in`, False and the falsy value
/// stand for each other; an inequality the falsy value satisfies keeps NULL rows.
fn falsy_condition(field: &str, ftype: FieldType, null: Value, op: Op, value: Value) -> Domain {
    match (op, value) {
        (Op::In | Op::NotIn, Value::List(mut items)) => {
            let has_null = items.iter().any(|v| v.is_null() || as_field_value(ftype, v).as_ref() == Some(&null));
            if has_null {
                if !items.iter().any(Value::is_null) {
                    items.push(Value::Bool(false));
                }
                if !items.iter().any(|v| !v.is_null() && as_field_value(ftype, v).as_ref() == Some(&null)) {
                    items.push(null);
                }
            }
            leaf(field, op, Value::List(items))
        }
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, value) => {
            let Some(typed) = as_field_value(ftype, &value) else {
                return leaf(field, op, value);
            };
            let order = compare(&null, &typed);
            let keeps_null = order.is_some_and(|o| match op {
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                _ => o.is_ge(),
            });
            let comparison = leaf(field, op, typed);
            if keeps_null {
                Domain::Or(vec![comparison, leaf(field, Op::Eq, Value::Bool(false))])
            } else {
                comparison
            }
        }
        (op, value) => leaf(field, op, value),
    }
}

#[cfg(test)]
#[path = "odoo19_tests.rs"]
mod tests;
