//! Conversions between `Value`s (what clients send and read) and column values, per Odoo field type.

use compact_str::ToCompactString;

use crate::error::{Error, Result};
use crate::orm::domain::operand::{like_text, py_repr};
use crate::orm::model::{Field, FieldType};
use crate::orm::sql::{SqlKind, SqlValue};
use crate::types::time::{parse_date, parse_datetime};
use crate::types::{clean_text, Value};

pub fn sql_kind(ftype: FieldType) -> SqlKind {
    match ftype {
        FieldType::Integer | FieldType::Many2one(_) | FieldType::One2many(..) => SqlKind::Int,
        FieldType::Float => SqlKind::Float,
        FieldType::Boolean => SqlKind::Bool,
        _ => SqlKind::Text,
    }
}

/// A value written by `create`/`write`, converted as Odoo's `convert_to_column` converts it: False is 0 for
/// numbers (a never-set number stays NULL), numbers may come as text, an integer takes a float's whole part,
/// text is cleaned of what cannot be stored. What Odoo cannot convert is Odoo's fault 1 with Python's text.
pub fn coerce_for_write(model: &str, field: &Field, v: &Value) -> Result<SqlValue> {
    let wrong = || Error::application(format!("Wrong value for {model}.{}: {}", field.name, py_repr(v)));
    let not_numeric = |what: &str| Error::application(format!("{what}, not '{}'", v.kind()));
    Ok(match field.ftype {
        FieldType::Boolean => SqlValue::Bool(!v.is_falsy()),
        FieldType::Integer => {
            match v {
                Value::Nil | Value::Bool(false) => SqlValue::Int(0),
                Value::Bool(true) => SqlValue::Int(1),
                Value::Int(i) => SqlValue::Int(*i),
                Value::Float(f) if f.is_finite() => SqlValue::Int(f.trunc() as i64),
                Value::Str(s) => SqlValue::Int(s.trim().parse().map_err(|_| {
                    Error::application(format!("invalid literal for int() with base 10: {}", py_repr(v)))
                })?),
                _ => return Err(not_numeric("int() argument must be a string, a bytes-like object or a real number")),
            }
        }
        FieldType::Float => match v {
            Value::Nil | Value::Bool(false) => SqlValue::Float(0.0),
            Value::Bool(true) => SqlValue::Float(1.0),
            Value::Float(f) if f.is_finite() => SqlValue::Float(*f),
            Value::Int(i) => SqlValue::Float(*i as f64),
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => SqlValue::Float(f),
                _ => return Err(Error::application(format!("could not convert string to float: {}", py_repr(v)))),
            },
            _ => return Err(not_numeric("float() argument must be a string or a real number")),
        },
        _ if v.is_null() => SqlValue::Null(sql_kind(field.ftype)),
        FieldType::Char | FieldType::Text => match v {
            Value::Str(s) => SqlValue::Text(clean_text(s).into_owned()),
            other => SqlValue::Text(clean_text(&like_text(other)).into_owned()),
        },
        FieldType::Selection(options) => match v {
            Value::Str(s) if options.iter().any(|(k, _)| k == s) => SqlValue::Text(s.to_string()),
            _ => return Err(wrong()),
        },
        // An id only: over XML-RPC Odoo gets a list, never the Python tuple `(id, name)` it would accept, and
        // PostgreSQL refuses what Odoo passes through here (a name, a list of ids).
        FieldType::Many2one(_) => SqlValue::Int(
            v.as_i64()
                .ok_or_else(|| Error::application(format!("invalid input syntax for type integer: {}", py_repr(v))))?,
        ),
        FieldType::Date => match v {
            Value::Str(s) => SqlValue::Text(
                parse_date(s)
                    .ok_or_else(|| Error::application(format!("invalid input syntax for type date: \"{s}\"")))?,
            ),
            other => return Err(Error::application(format!("'{}' object is not subscriptable", other.kind()))),
        },
        FieldType::Datetime => match v {
            Value::Str(s) => SqlValue::Text(
                parse_datetime(s)
                    .ok_or_else(|| Error::application(format!("invalid input syntax for type timestamp: \"{s}\"")))?,
            ),
            other => return Err(Error::application(format!("'{}' object is not subscriptable", other.kind()))),
        },
        FieldType::One2many(..) => return Err(wrong()),
    })
}

/// Converts one stored cell (as `Sql::load_rows` decodes it from the backend's native value) into Odoo's
/// read format for a field of `ftype`.
#[inline]
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
        (_, Value::Int(n)) => Value::Str(n.to_compact_string()),
        (_, Value::Float(f)) => Value::Str(f.to_compact_string()),
        _ => Value::Bool(false),
    }
}

/// `read_cell` on a cell where it stands: a cell already in its read format (most are) is left as it is.
#[inline]
pub fn read_cell_in_place(ftype: FieldType, cell: &mut Value) {
    let as_read = match (ftype, &*cell) {
        (FieldType::Boolean, value) => matches!(value, Value::Bool(_)),
        (FieldType::Integer, value) => matches!(value, Value::Int(_)),
        (FieldType::Float, value) => matches!(value, Value::Float(_)),
        (FieldType::Many2one(_), Value::Int(_)) | (_, Value::Str(_)) => true,
        _ => false,
    };
    if !as_read {
        *cell = read_cell(ftype, std::mem::replace(cell, Value::Nil));
    }
}

/// Most record ids one call may name (ids, x2many commands): a bigger list is refused with a clear fault
/// instead of holding the write lock for a minute (the same bound as a domain's `in` list).
pub const MAX_IDS_PER_CALL: usize = 30_000;

/// Ids given as one int or a list of ints (Odoo accepts both for record methods).
pub fn id_list(v: &Value) -> Result<Vec<i64>> {
    let bad = || Error::application(format!("Expected a list of record ids, got {}", v.kind()));
    match v {
        Value::List(items) if items.len() > MAX_IDS_PER_CALL => Err(Error::user(format!(
            "Too many record ids in one call ({}): the bridge takes at most {MAX_IDS_PER_CALL}; split the call.",
            items.len()
        ))),
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
    fn a_cell_converted_in_place_reads_as_read_cell_makes_it() {
        let types = [
            FieldType::Boolean,
            FieldType::Integer,
            FieldType::Float,
            FieldType::Char,
            FieldType::Text,
            FieldType::Date,
            FieldType::Datetime,
            FieldType::Selection(&[("a", "A")]),
            FieldType::Many2one("res.company"),
        ];
        let cells = [
            Value::Nil,
            Value::Bool(true),
            Value::Int(0),
            Value::Int(7),
            Value::Float(2.5),
            Value::str(""),
            Value::str("text"),
        ];
        for ftype in types {
            for cell in &cells {
                let mut in_place = cell.clone();
                read_cell_in_place(ftype, &mut in_place);
                assert_eq!(in_place, read_cell(ftype, cell.clone()), "{ftype:?} {cell:?}");
            }
        }
    }

    #[test]
    fn dates_and_datetimes_normalise() {
        assert_eq!(parse_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_datetime("2024-02-29T10:11:12Z").as_deref(), Some("2024-02-29 10:11:12"));
        assert_eq!(parse_datetime("2024-02-29").as_deref(), Some("2024-02-29 00:00:00"));
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
