//! Conversions between `Value`s (what clients send and read) and column values, per Odoo field type.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::{Error, Result};
use crate::orm::model::{Field, FieldType};
use crate::orm::sql::{SqlKind, SqlValue};
use crate::types::time::{date_string, naive_datetime_string, DATETIME_FORMAT, DATE_FORMAT};
use crate::types::Value;

pub fn sql_kind(ftype: FieldType) -> SqlKind {
    match ftype {
        FieldType::Integer | FieldType::Many2one(_) | FieldType::One2many(..) => SqlKind::Int,
        FieldType::Float => SqlKind::Float,
        FieldType::Boolean => SqlKind::Bool,
        _ => SqlKind::Text,
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Bool(b) => Some(i64::from(*b)),
        other => other.as_i64(),
    }
}

/// A domain operand: lenient like Odoo's SQL (numbers compare to text columns as text, and so on).
pub fn coerce_for_domain(ftype: FieldType, v: &Value) -> Result<SqlValue> {
    let bad = || {
        Error::application(format!("Invalid value of type {} for a {} field in domain", v.kind(), ftype.odoo_name()))
    };
    Ok(match sql_kind(ftype) {
        SqlKind::Int => match v {
            Value::Str(s) => SqlValue::Int(s.trim().parse().map_err(|_| bad())?),
            // A many2one compared to a [id, name] pair (as read returns it) means the id.
            Value::List(pair) if pair.len() == 2 => SqlValue::Int(pair[0].as_i64().ok_or_else(bad)?),
            other => SqlValue::Int(as_int(other).ok_or_else(bad)?),
        },
        SqlKind::Float => match v {
            Value::Float(f) => SqlValue::Float(*f),
            Value::Int(i) => SqlValue::Float(*i as f64),
            Value::Str(s) => SqlValue::Float(s.trim().parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        SqlKind::Bool => SqlValue::Bool(!v.is_falsy()),
        SqlKind::Text => match v {
            Value::Str(s) => SqlValue::Text(s.clone()),
            Value::Int(i) => SqlValue::Text(i.to_string()),
            Value::Float(f) => SqlValue::Text(f.to_string()),
            _ => return Err(bad()),
        },
    })
}

/// A value written by `create`/`write`: checked against the field's type, selection and format.
pub fn coerce_for_write(model: &str, field: &Field, v: &Value) -> Result<SqlValue> {
    let bad = |why: &str| {
        Error::validation(format!(
            "Wrong value for {model}.{}: {why} (got {}).",
            field.name,
            match v {
                Value::Str(s) if s.chars().count() <= 40 => format!("{s:?}"),
                other => other.kind().to_string(),
            }
        ))
    };
    if v.is_null() && field.ftype != FieldType::Boolean {
        return Ok(SqlValue::Null(sql_kind(field.ftype)));
    }
    Ok(match field.ftype {
        FieldType::Char | FieldType::Text => match v {
            Value::Str(s) => SqlValue::Text(clean_text(s)),
            Value::Int(i) => SqlValue::Text(i.to_string()),
            Value::Float(f) => SqlValue::Text(f.to_string()),
            _ => return Err(bad("expected a string")),
        },
        FieldType::Selection(options) => match v {
            Value::Str(s) if options.iter().any(|(k, _)| k == s) => SqlValue::Text(s.clone()),
            _ => {
                let keys: Vec<&str> = options.iter().map(|(k, _)| *k).collect();
                return Err(bad(&format!("expected one of {}", keys.join(", "))));
            }
        },
        FieldType::Integer => SqlValue::Int(as_int(v).ok_or_else(|| bad("expected an integer"))?),
        FieldType::Many2one(_) => match v {
            Value::List(pair) if pair.len() == 2 => {
                SqlValue::Int(pair[0].as_i64().ok_or_else(|| bad("expected a record id"))?)
            }
            other => SqlValue::Int(other.as_i64().filter(|i| *i > 0).ok_or_else(|| bad("expected a record id"))?),
        },
        FieldType::Float => match v {
            Value::Float(f) if f.is_finite() => SqlValue::Float(*f),
            Value::Int(i) => SqlValue::Float(*i as f64),
            _ => return Err(bad("expected a number")),
        },
        FieldType::Boolean => SqlValue::Bool(!v.is_falsy()),
        FieldType::Date => match v {
            Value::Str(s) => SqlValue::Text(parse_date(s).ok_or_else(|| bad("expected a date YYYY-MM-DD"))?),
            _ => return Err(bad("expected a date string YYYY-MM-DD")),
        },
        FieldType::Datetime => match v {
            Value::Str(s) => {
                SqlValue::Text(parse_datetime(s).ok_or_else(|| bad("expected a datetime YYYY-MM-DD HH:MM:SS"))?)
            }
            _ => return Err(bad("expected a datetime string YYYY-MM-DD HH:MM:SS")),
        },
        FieldType::One2many(..) => return Err(bad("one2many values are written with commands")),
    })
}

/// Odoo strips control characters that XML cannot carry; NUL would also break PostgreSQL text.
fn clean_text(s: &str) -> String {
    if s.chars().any(|c| (c as u32) < 32 && !matches!(c, '\t' | '\n' | '\r')) {
        s.chars().filter(|c| (*c as u32) >= 32 || matches!(c, '\t' | '\n' | '\r')).collect()
    } else {
        s.to_string()
    }
}

pub fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    let date_part = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(date_part, DATE_FORMAT).ok().map(date_string)
}

pub fn parse_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    let normalized = s.replacen('T', " ", 1);
    let normalized = normalized.trim_end_matches('Z');
    let without_fraction = normalized.split('.').next().unwrap_or(normalized);
    if let Ok(dt) = NaiveDateTime::parse_from_str(without_fraction, DATETIME_FORMAT) {
        return Some(naive_datetime_string(dt));
    }
    NaiveDate::parse_from_str(without_fraction, DATE_FORMAT).ok().map(|d| format!("{} 00:00:00", date_string(d)))
}

/// Decodes one cell of a JSON row into Odoo's read format.
pub fn read_cell(ftype: FieldType, cell: Value) -> Value {
    match (ftype, cell) {
        (FieldType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (FieldType::Boolean, Value::Int(n)) => Value::Bool(n != 0),
        (FieldType::Boolean, _) => Value::Bool(false),
        // Odoo reads empty numbers as zero, not False.
        (FieldType::Integer, Value::Int(n)) => Value::Int(n),
        (FieldType::Integer, Value::Float(f)) => Value::Int(f as i64),
        (FieldType::Integer, _) => Value::Int(0),
        (FieldType::Float, Value::Float(f)) => Value::Float(f),
        (FieldType::Float, Value::Int(n)) => Value::Float(n as f64),
        (FieldType::Float, _) => Value::Float(0.0),
        (FieldType::Many2one(_), Value::Int(n)) => Value::Int(n),
        (_, Value::Str(s)) => Value::Str(s),
        (_, Value::Int(n)) => Value::Str(n.to_string()),
        (_, Value::Float(f)) => Value::Str(f.to_string()),
        _ => Value::Bool(false),
    }
}

/// Ids given as one int or a list of ints (Odoo accepts both for record methods).
pub fn id_list(v: &Value) -> Result<Vec<i64>> {
    let bad = || Error::application(format!("Expected a list of record ids, got {}", v.kind()));
    match v {
        Value::List(items) => items.iter().map(|i| i.as_i64().ok_or_else(bad)).collect(),
        Value::Int(i) => Ok(vec![*i]),
        v if v.is_null() => Ok(Vec::new()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_datetimes_normalise() {
        assert_eq!(parse_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_datetime("2024-02-29T10:11:12Z").as_deref(), Some("2024-02-29 10:11:12"));
        assert_eq!(parse_datetime("2024-02-29").as_deref(), Some("2024-02-29 00:00:00"));
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn control_characters_are_stripped() {
        assert_eq!(clean_text("a\u{0}b\tc"), "ab\tc");
    }
}
