//! The bridge's own wire-neutral value: what the ORM takes and returns, what models and the sync engine
//! build. It reads and writes JSON (stored rows and JSON-RPC); the XML-RPC codec (`rpc::xmlrpc`) converts
//! it to and from dxr's values.

use std::collections::BTreeMap;

use compact_str::CompactString;

use crate::types::Records;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text up to 24 bytes is kept inline: most cells (names, codes, dates) then cost no allocation
    /// when rows are read, records built and answers dropped.
    Str(CompactString),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Records as `read` returns them: a list of structs on the wire. See `Records`. Boxed: inline it
    /// would make every `Value` (every cell of every row read) four times as large.
    Records(Box<Records>),
}

// Every cell read, moved into a record and written out is a `Value`: a variant that grows it past 32
// bytes belongs in a box (as `Records` is).
const _: () = assert!(std::mem::size_of::<Value>() <= 32);

impl Value {
    pub fn str(s: impl Into<CompactString>) -> Value {
        Value::Str(s.into())
    }

    pub fn records(records: Records) -> Value {
        Value::Records(Box::new(records))
    }

    /// Builds a struct from `(key, value)` pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) | Value::Records(_) => "list",
            Value::Map(_) => "dict",
        }
    }

    /// Odoo treats `None`, `False`, `0`, `""`, `[]` and `{}` as falsy.
    pub fn is_falsy(&self) -> bool {
        match self {
            Value::Nil => true,
            Value::Bool(b) => !b,
            Value::Int(i) => *i == 0,
            Value::Float(f) => *f == 0.0,
            Value::Str(s) => s.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Map(m) => m.is_empty(),
            Value::Records(records) => records.is_empty(),
        }
    }

    /// `None`/`False` as Odoo's "no value".
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Nil | Value::Bool(false))
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            // Python clients send ids above 2^31 as doubles; Odoo does the same in responses.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// How many items a list holds, records included.
    pub fn list_len(&self) -> Option<usize> {
        match self {
            Value::List(items) => Some(items.len()),
            Value::Records(records) => Some(records.len()),
            _ => None,
        }
    }

    pub fn into_json(self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Int(i) => serde_json::Value::from(i),
            Value::Float(f) => {
                serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Value::Str(s) => serde_json::Value::String(s.into_string()),
            Value::List(items) => serde_json::Value::Array(items.into_iter().map(Value::into_json).collect()),
            Value::Map(members) => {
                serde_json::Value::Object(members.into_iter().map(|(k, v)| (k, v.into_json())).collect())
            }
            Value::Records(records) => serde_json::Value::Array(
                records
                    .into_values()
                    .map(|values| {
                        let members = values.into_iter().map(|(name, v)| (name.to_string(), v.into_json()));
                        serde_json::Value::Object(members.collect())
                    })
                    .collect(),
            ),
        }
    }

    pub fn from_json(value: serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::Str(s.into()),
            serde_json::Value::Array(items) => Value::List(items.into_iter().map(Value::from_json).collect()),
            serde_json::Value::Object(members) => {
                Value::Map(members.into_iter().map(|(k, v)| (k, Value::from_json(v))).collect())
            }
        }
    }
}

/// A `Value` written as JSON without a `serde_json::Value` in between (JSON-RPC and JSON-2 answers), as
/// `into_json` converts it: `None` is null, a float that JSON cannot hold is null, a struct's members in
/// key order, and each of `Records` in its members' order (Odoo's: `id`, then the fields as requested).
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Nil => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Value::Float(_) => serializer.serialize_unit(),
            Value::Str(s) => serializer.serialize_str(s),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (name, member) in members {
                    map.serialize_entry(name, member)?;
                }
                map.end()
            }
            Value::Records(records) => {
                struct Record<'a, I>(&'a [&'static str], std::cell::Cell<Option<I>>);
                impl<'a, I: Iterator<Item = &'a Value>> serde::Serialize for Record<'a, I> {
                    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                        let mut map = serializer.serialize_map(Some(self.0.len()))?;
                        for (name, value) in self.0.iter().zip(self.1.take().into_iter().flatten()) {
                            map.serialize_entry(name, value)?;
                        }
                        map.end()
                    }
                }
                let mut seq = serializer.serialize_seq(Some(records.len()))?;
                for values in records.iter() {
                    seq.serialize_element(&Record(records.names(), std::cell::Cell::new(Some(values))))?;
                }
                seq.end()
            }
        }
    }
}

/// JSON straight into a `Value` (stored rows, JSON-RPC), without a `serde_json::Value` in between.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> std::result::Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> std::result::Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_f64<E>(self, f: f64) -> std::result::Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Value, E> {
        Ok(Value::Str(s.into()))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Value, E> {
        Ok(Value::Str(s.into()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut members = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            members.insert(key, value);
        }
        Ok(Value::Map(members))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into())
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    /// Odoo's convention: an empty value reads as `False`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Bool(false), Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_decodes_straight_into_values() {
        let v: Value =
            serde_json::from_str(r#"[1, -2, 1.5, "a\"b", null, true, {"k": [false]}, 18446744073709551615]"#).unwrap();
        assert_eq!(
            v,
            Value::List(vec![
                Value::Int(1),
                Value::Int(-2),
                Value::Float(1.5),
                Value::str("a\"b"),
                Value::Nil,
                Value::Bool(true),
                Value::map([("k", Value::List(vec![Value::Bool(false)]))]),
                Value::Float(18446744073709551615.0),
            ])
        );
        let text = r#"{"a": 1, "b": [null, "x"]}"#;
        let direct: Value = serde_json::from_str(text).unwrap();
        assert_eq!(direct, Value::from_json(serde_json::from_str(text).unwrap()));
    }

    #[test]
    fn records_are_lists_of_structs_on_the_wire() {
        let records = Value::records(Records::new(
            vec!["id", "name"],
            vec![vec![Value::Int(3), Value::str("x")], vec![Value::Int(4), Value::Nil]],
        ));
        let maps = Value::List(vec![
            Value::map([("id", Value::Int(3)), ("name", Value::str("x"))]),
            Value::map([("id", Value::Int(4)), ("name", Value::Nil)]),
        ]);
        assert_eq!(records.clone().into_json(), maps.into_json());
        assert_eq!(records.kind(), "list");
        assert!(!records.is_falsy());
        assert!(Value::records(Records::new(vec!["id"], vec![])).is_falsy());
    }

    #[test]
    fn values_write_as_json_as_their_conversion_reads() {
        let records = Value::records(Records::new(
            vec!["id", "name", "amount"],
            vec![
                vec![Value::Int(3), Value::str("a\"b\n"), Value::Float(1.5)],
                vec![Value::Int(4), Value::Nil, Value::Float(f64::NAN)],
            ],
        ));
        let value = Value::List(vec![
            records.clone(),
            Value::map([("z", Value::Bool(true)), ("a", Value::List(vec![Value::Int(-7), Value::Float(1e300)]))]),
            Value::Float(f64::INFINITY),
            Value::Int(i64::MIN),
        ]);
        let written = serde_json::to_string(&value).expect("json");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&written).expect("read"), value.clone().into_json());
        // Records keep their members' order, as Odoo's dicts do; structs are written in key order.
        assert_eq!(
            serde_json::to_string(&records).expect("json"),
            r#"[{"id":3,"name":"a\"b\n","amount":1.5},{"id":4,"name":null,"amount":null}]"#
        );
    }

    #[test]
    fn json_round_trip() {
        let v = Value::map([("n", Value::Nil), ("f", Value::Float(1.5)), ("l", Value::List(vec![Value::Int(1)]))]);
        assert_eq!(Value::from_json(v.clone().into_json()), v);
    }
}
