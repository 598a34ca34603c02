//! The bridge's own wire-neutral value: what the ORM takes and returns, converted once to XML-RPC (dxr)
//! or JSON. Converting to XML-RPC follows Odoo's marshaller: `None` becomes `False` (clients without
//! `allow_none` must work) and integers beyond 32 bits become doubles.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// A struct whose member names come from the model registry (what `read` returns), kept in Odoo's
    /// order (`id`, then the fields as requested). It is a `Map` on the wire; it exists so that reading
    /// thousands of records does not allocate and sort a copy of every field name for every record.
    Record(Vec<(&'static str, Value)>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
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
            Value::List(_) => "list",
            Value::Map(_) | Value::Record(_) => "dict",
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
            Value::Record(m) => m.is_empty(),
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

    pub fn into_xmlrpc(self) -> dxr::Value {
        match self {
            Value::Nil => dxr::Value::Boolean(false),
            Value::Bool(b) => dxr::Value::Boolean(b),
            Value::Int(i) => match i32::try_from(i) {
                Ok(small) => dxr::Value::Integer(small),
                Err(_) => dxr::Value::Double(i as f64),
            },
            Value::Float(f) => dxr::Value::Double(f),
            Value::Str(s) => dxr::Value::String(s),
            Value::List(items) => dxr::Value::Array(items.into_iter().map(Value::into_xmlrpc).collect()),
            Value::Map(members) => dxr::Value::Struct(members.into_iter().map(|(k, v)| (k, v.into_xmlrpc())).collect()),
            Value::Record(members) => {
                dxr::Value::Struct(members.into_iter().map(|(k, v)| (k.to_string(), v.into_xmlrpc())).collect())
            }
        }
    }

    pub fn from_xmlrpc(value: dxr::Value) -> Value {
        match value {
            dxr::Value::Integer(i) => Value::Int(i64::from(i)),
            dxr::Value::Long(i) => Value::Int(i),
            dxr::Value::Boolean(b) => Value::Bool(b),
            dxr::Value::String(s) => Value::Str(s),
            dxr::Value::Double(f) => Value::Float(f),
            // Odoo fields take dates as strings; accept the XML-RPC type too, in Odoo's server format.
            dxr::Value::DateTime(dt) => Value::Str(format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            )),
            dxr::Value::Base64(bytes) => {
                use base64::Engine as _;
                Value::Str(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            dxr::Value::Struct(members) => {
                Value::Map(members.into_iter().map(|(k, v)| (k, Value::from_xmlrpc(v))).collect())
            }
            dxr::Value::Array(items) => Value::List(items.into_iter().map(Value::from_xmlrpc).collect()),
            dxr::Value::Nil => Value::Nil,
            // `dxr::Value` is non-exhaustive; anything new is passed through as its absence.
            _ => Value::Nil,
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
            Value::Str(s) => serde_json::Value::String(s),
            Value::List(items) => serde_json::Value::Array(items.into_iter().map(Value::into_json).collect()),
            Value::Map(members) => {
                serde_json::Value::Object(members.into_iter().map(|(k, v)| (k, v.into_json())).collect())
            }
            Value::Record(members) => {
                serde_json::Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v.into_json())).collect())
            }
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
            serde_json::Value::String(s) => Value::Str(s),
            serde_json::Value::Array(items) => Value::List(items.into_iter().map(Value::from_json).collect()),
            serde_json::Value::Object(members) => {
                Value::Map(members.into_iter().map(|(k, v)| (k, Value::from_json(v))).collect())
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
        Ok(Value::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Value, E> {
        Ok(Value::Str(s))
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
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
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
    fn none_is_sent_as_false_and_big_ints_as_doubles() {
        assert_eq!(Value::Nil.into_xmlrpc(), dxr::Value::Boolean(false));
        assert_eq!(Value::Int(7).into_xmlrpc(), dxr::Value::Integer(7));
        assert_eq!(Value::Int(1 << 40).into_xmlrpc(), dxr::Value::Double((1u64 << 40) as f64));
        let nested = Value::map([("a", Value::List(vec![Value::Nil]))]).into_xmlrpc();
        let xml = dxr::MethodResponse { value: nested }.to_xml().unwrap();
        assert!(!xml.contains("nil"), "{xml}");
    }

    #[test]
    fn dates_from_xmlrpc_become_odoo_strings() {
        let call = dxr::MethodCall::from_xml(
            "<methodCall><methodName>x</methodName><params><param><value>\
             <dateTime.iso8601>20240229T23:59:58</dateTime.iso8601></value></param></params></methodCall>",
        )
        .unwrap();
        let v = Value::from_xmlrpc(call.params.into_iter().next().unwrap());
        assert_eq!(v, Value::str("2024-02-29 23:59:58"));
    }

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
    fn records_are_structs_on_the_wire() {
        let record = Value::Record(vec![("id", Value::Int(3)), ("name", Value::str("x"))]);
        let map = Value::map([("id", Value::Int(3)), ("name", Value::str("x"))]);
        assert_eq!(record.clone().into_xmlrpc(), map.clone().into_xmlrpc());
        assert_eq!(record.clone().into_json(), map.into_json());
        assert_eq!(record.kind(), "dict");
        assert!(!record.is_falsy());
    }

    #[test]
    fn json_round_trip() {
        let v = Value::map([("n", Value::Nil), ("f", Value::Float(1.5)), ("l", Value::List(vec![Value::Int(1)]))]);
        assert_eq!(Value::from_json(v.clone().into_json()), v);
    }
}
