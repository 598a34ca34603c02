//! Domain operands as Odoo 17 treats them, shared by the SQL compiler and the reference evaluator: what
//! `convert_to_column(value, validate=False)` makes of a value for each field type, the text a like operator
//! wraps in `%…%` (`pycompat.to_text`), PostgreSQL's `::text` rendering of floats, and Python's `repr` for
//! Odoo's error texts.

use super::Op;
use crate::error::{Error, Result};
use crate::orm::model::FieldType;
use crate::orm::sql::{SqlKind, SqlValue};
use crate::types::time::{parse_date, parse_datetime};
use crate::types::Value;

/// Python's `repr` of a value (`'x'`, `False`, `[1, 2]`), as Odoo prints domain terms in its messages.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Nil => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => py_float(*f),
        Value::Str(s) if s.contains('\'') && !s.contains('"') => format!("\"{}\"", s.replace('\\', "\\\\")),
        Value::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::List(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Records(_) => "[{…}]".into(),
        Value::Map(_) => "{…}".into(),
    }
}

/// Python's `str` of a float: `2500.0`, `12.5`, `1e+16`, `1e-05`.
pub fn py_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan".into()
        } else if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        exponent_form(f)
    } else if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// `1.5e-05`, `1e+20`: mantissa, sign and at least two exponent digits, as Python and PostgreSQL print them.
fn exponent_form(f: f64) -> String {
    let s = format!("{f:e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

/// A leaf as Odoo prints it in an error: `('name', 'in', 'sav')`.
pub fn leaf_repr(path: &[String], op: Op, value: &Value) -> String {
    format!("('{}', '{}', {})", path.join("."), op.as_str(), py_repr(value))
}

/// Odoo's `pycompat.to_text` of a like operand: False and None give '', anything else what Python prints.
pub fn like_text(value: &Value) -> String {
    match value {
        Value::Nil | Value::Bool(false) => String::new(),
        Value::Bool(true) => "True".into(),
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => py_float(*f),
        other => py_repr(other),
    }
}

/// What Odoo's `convert_to_column(value, validate=False)` makes of a domain operand for a column of type
/// `ftype`. Odoo's Python errors (and PostgreSQL's refusals of what Odoo passes through) are fault 1.
pub fn column_operand(ftype: FieldType, v: &Value) -> Result<SqlValue> {
    let wrong_type = |what: &str| Error::application(format!("{what}, not '{}'", v.kind()));
    Ok(match ftype {
        FieldType::Boolean => SqlValue::Bool(!v.is_falsy()),
        FieldType::Integer | FieldType::Many2one(_) | FieldType::One2many(..) => {
            match v {
                Value::Int(i) => SqlValue::Int(*i),
                Value::Float(f) if f.is_finite() => SqlValue::Int(f.trunc() as i64),
                // int(value or 0) for an integer; a relation without a value is NULL.
                Value::Nil | Value::Bool(false) if ftype == FieldType::Integer => SqlValue::Int(0),
                Value::Nil | Value::Bool(false) => SqlValue::Null(SqlKind::Int),
                Value::Bool(true) => SqlValue::Int(1),
                Value::Str(s) => SqlValue::Int(s.trim().parse().map_err(|_| {
                    Error::application(format!("invalid literal for int() with base 10: {}", py_repr(v)))
                })?),
                _ => return Err(wrong_type("int() argument must be a string, a bytes-like object or a real number")),
            }
        }
        FieldType::Float => match v {
            Value::Float(f) => SqlValue::Float(*f),
            Value::Int(i) => SqlValue::Float(*i as f64),
            Value::Bool(b) => SqlValue::Float(f64::from(u8::from(*b))),
            Value::Nil => SqlValue::Float(0.0),
            Value::Str(s) => SqlValue::Float(
                s.trim()
                    .parse()
                    .map_err(|_| Error::application(format!("could not convert string to float: {}", py_repr(v))))?,
            ),
            _ => return Err(wrong_type("float() argument must be a string or a real number")),
        },
        FieldType::Date => match v {
            Value::Nil | Value::Bool(false) => SqlValue::Null(SqlKind::Text),
            Value::Str(s) => SqlValue::Text(
                parse_date(s)
                    .ok_or_else(|| Error::application(format!("invalid input syntax for type date: \"{s}\"")))?,
            ),
            _ => return Err(wrong_type("invalid input for type date")),
        },
        FieldType::Datetime => match v {
            Value::Nil | Value::Bool(false) => SqlValue::Null(SqlKind::Text),
            Value::Str(s) => SqlValue::Text(
                parse_datetime(s)
                    .ok_or_else(|| Error::application(format!("invalid input syntax for type timestamp: \"{s}\"")))?,
            ),
            _ => return Err(wrong_type("invalid input for type timestamp")),
        },
        FieldType::Char | FieldType::Text | FieldType::Selection(_) => match v {
            Value::Nil | Value::Bool(false) => SqlValue::Null(SqlKind::Text),
            other => SqlValue::Text(like_text(other)),
        },
    })
}

/// A datetime operand of ten characters (a date) means the start of that day, or its end for `>` and `<=`.
pub fn datetime_day_bound(ftype: FieldType, op: Op, value: &Value) -> Option<Value> {
    match (ftype, value) {
        (FieldType::Datetime, Value::Str(s)) if s.len() == 10 => Some(Value::Str(compact_str::format_compact!(
            "{s} {}",
            if matches!(op, Op::Gt | Op::Le) { "23:59:59" } else { "00:00:00" }
        ))),
        _ => None,
    }
}

/// Odoo's NEGATIVE_TERM_OPERATORS (`not in` is handled on its own).
pub fn is_negative(op: Op) -> bool {
    matches!(op, Op::Ne | Op::NotLike | Op::NotILike | Op::NotIn)
}

/// Whether a LIKE pattern ends with an unescaped backslash, which PostgreSQL refuses.
pub fn ends_with_escape(pattern: &str) -> bool {
    pattern.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// `like`'s pattern refused as PostgreSQL refuses it (SQLite would silently match nothing).
pub fn check_pattern(pattern: &str) -> Result<()> {
    if ends_with_escape(pattern) {
        return Err(Error::application("LIKE pattern must not end with escape character"));
    }
    Ok(())
}

/// The SQL type name PostgreSQL reports for an operand that `LIKE` cannot take.
pub fn non_text_operand(operand: &SqlValue) -> Option<&'static str> {
    match operand {
        SqlValue::Int(_) => Some("bigint"),
        SqlValue::Float(_) => Some("double precision"),
        SqlValue::Bool(_) => Some("boolean"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_postgresql_renderings() {
        assert_eq!(py_float(2500.0), "2500.0");
        assert_eq!(py_float(12.5), "12.5");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1.5e-5), "1.5e-05");
        assert_eq!(crate::db::float_text(2500.0), "2500");
        assert_eq!(crate::db::float_text(-0.01), "-0.01");
        assert_eq!(crate::db::float_text(1e20), "1e+20");
        assert_eq!(
            py_repr(&Value::List(vec![Value::str("a'b"), Value::Bool(false), Value::Int(3)])),
            "[\"a'b\", False, 3]"
        );
        assert!(ends_with_escape("%\\") && !ends_with_escape("%\\\\") && !ends_with_escape("\\%"));
    }
}
