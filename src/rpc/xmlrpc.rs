//! XML-RPC codec: request decoding with Odoo-style guards (the reader is `methodcall`), response encoding
//! written directly from `Value`, faults through dxr.

use crate::error::{Error, Result};
use crate::rpc::fault;
use crate::types::Value;

/// A decoded `methodCall`.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub params: Vec<Value>,
}

/// Decodes a request body. Errors never echo the body: it carries the caller's password.
pub fn decode(body: &[u8]) -> Result<Request> {
    let text =
        std::str::from_utf8(body).map_err(|_| Error::application("Invalid XML-RPC request: the body is not UTF-8."))?;
    // dxr already refuses entity declarations; refusing DOCTYPE up front keeps XXE and entity-expansion
    // payloads away from the parser entirely.
    if text.contains("<!") && (contains_ignore_case(text, "<!DOCTYPE") || contains_ignore_case(text, "<!ENTITY")) {
        return Err(Error::application("Invalid XML-RPC request: DOCTYPE and entity declarations are not allowed."));
    }
    // Characters XML 1.0 forbids (NUL, C0 controls but tab, LF, CR): expat, and so Odoo, refuses them;
    // stored, they would make every later answer that carries them unreadable.
    // By bytes: every byte of a multi-byte UTF-8 character is 0x80 or above.
    if text.bytes().any(|b| b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r')) {
        return Err(Error::application("Invalid XML-RPC request: control characters are not allowed in XML."));
    }
    let (method, params) = crate::rpc::methodcall::parse(text).ok_or_else(|| {
        Error::application(format!(
            "Invalid XML-RPC request: the body ({} bytes) is not a well-formed methodCall.",
            body.len()
        ))
    })?;
    Ok(Request { method, params })
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Conversions to and from dxr's values, following Odoo's marshaller: `None` becomes `False` (clients
/// without `allow_none` must work) and integers beyond 32 bits become doubles.
impl Value {
    pub fn into_xmlrpc(self) -> dxr::Value {
        match self {
            Value::Nil => dxr::Value::Boolean(false),
            Value::Bool(b) => dxr::Value::Boolean(b),
            Value::Int(i) => match i32::try_from(i) {
                Ok(small) => dxr::Value::Integer(small),
                Err(_) => dxr::Value::Double(i as f64),
            },
            Value::Float(f) => dxr::Value::Double(f),
            Value::Str(s) => dxr::Value::String(s.into_string()),
            Value::List(items) => dxr::Value::Array(items.into_iter().map(Value::into_xmlrpc).collect()),
            Value::Map(members) => dxr::Value::Struct(members.into_iter().map(|(k, v)| (k, v.into_xmlrpc())).collect()),
            Value::Records(records) => {
                dxr::Value::Array(records.into_maps().into_iter().map(Value::into_xmlrpc).collect())
            }
        }
    }

    /// dxr's reading of a value, as the request reader (`methodcall`) reads it: its tests compare the two.
    #[cfg(test)]
    pub fn from_xmlrpc(value: dxr::Value) -> Value {
        use crate::rpc::methodcall::{base64_text, odoo_datetime};
        match value {
            dxr::Value::Integer(i) => Value::Int(i64::from(i)),
            dxr::Value::Long(i) => Value::Int(i),
            dxr::Value::Boolean(b) => Value::Bool(b),
            dxr::Value::String(s) => Value::Str(s.into()),
            dxr::Value::Double(f) => Value::Float(f),
            dxr::Value::DateTime(dt) => odoo_datetime(&dt),
            dxr::Value::Base64(bytes) => base64_text(&bytes),
            dxr::Value::Struct(members) => {
                Value::Map(members.into_iter().map(|(k, v)| (k, Value::from_xmlrpc(v))).collect())
            }
            dxr::Value::Array(items) => Value::List(items.into_iter().map(Value::from_xmlrpc).collect()),
            dxr::Value::Nil => Value::Nil,
            // `dxr::Value` is non-exhaustive; anything new is passed through as its absence.
            _ => Value::Nil,
        }
    }
}

const PROLOG: &str = "<?xml version=\"1.0\"?>\n";

/// Encodes a successful response. Written directly from the bridge's `Value` into one buffer (no
/// intermediate dxr tree, no serde), several times faster than dxr. The bytes are what dxr writes for
/// `value.into_xmlrpc()` except that quotes in text stay as they are, as Odoo's own marshaller
/// (`xmlrpc.client`) leaves them: `encoder_matches_dxr` holds it to exactly that difference and reads every
/// answer back with dxr.
pub fn encode_response(value: Value) -> String {
    write_response(&value)
}

/// [`encode_response`] without taking the value.
pub fn write_response(value: &Value) -> String {
    // One allocation for most responses: large ones are otherwise copied at every doubling.
    let estimate = size_estimate(value);
    let mut out = String::with_capacity(estimate + estimate / 8 + 128);
    out.push_str(PROLOG);
    out.push_str("<methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>");
    out
}

/// Roughly the encoded size of `value`, cheaply: a list is taken to hold items like its first one
/// (as `search_read` results do), so only one item per level is walked.
fn size_estimate(value: &Value) -> usize {
    match value {
        Value::Nil | Value::Bool(_) => 35,
        Value::Int(_) => 28,
        Value::Float(_) => 40,
        Value::Str(s) => 30 + s.len(),
        Value::List(items) => 35 + items.first().map_or(0, |first| items.len() * size_estimate(first)),
        Value::Map(members) => 30 + members.iter().map(|(k, v)| 30 + k.len() + size_estimate(v)).sum::<usize>(),
        Value::Records(records) => {
            let first = records.iter().next().map_or(0, |values| {
                records.names().iter().zip(values).map(|(k, v)| 30 + k.len() + size_estimate(v)).sum::<usize>()
            });
            35 + records.len() * (30 + first)
        }
    }
}

/// Appends the decimal form of `n` (as `Display` writes it, without going through `fmt`).
fn push_int(out: &mut String, n: i32) {
    let mut buf = [0u8; 11];
    let mut pos = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    // Only ASCII digits and '-' were written.
    out.push_str(std::str::from_utf8(&buf[pos..]).unwrap_or_default());
}

/// One `<value>`, following `Value::into_xmlrpc`: `None` is `False`, integers beyond 32 bits are doubles.
fn write_value(out: &mut String, value: &Value) {
    use std::fmt::Write as _;
    match value {
        Value::Nil | Value::Bool(false) => out.push_str("<value><boolean>0</boolean></value>"),
        Value::Bool(true) => out.push_str("<value><boolean>1</boolean></value>"),
        Value::Int(i) => match i32::try_from(*i) {
            Ok(small) => {
                out.push_str("<value><i4>");
                push_int(out, small);
                out.push_str("</i4></value>");
            }
            Err(_) => {
                let _ = write!(out, "<value><double>{}</double></value>", *i as f64);
            }
        },
        Value::Float(f) => {
            let _ = write!(out, "<value><double>{f}</double></value>");
        }
        Value::Str(s) => {
            out.push_str("<value><string>");
            escape_into(out, s);
            out.push_str("</string></value>");
        }
        Value::List(items) => {
            out.push_str("<value><array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array></value>");
        }
        Value::Map(members) => {
            out.push_str("<value><struct>");
            for (name, member) in members {
                out.push_str("<member><name>");
                escape_into(out, name);
                out.push_str("</name>");
                write_value(out, member);
                out.push_str("</member>");
            }
            out.push_str("</struct></value>");
        }
        Value::Records(records) => {
            // The members' names are the registry's field names, identifiers with nothing to escape
            // (`registry_field_names_need_no_escaping`). The markup between two values is the same in
            // every record, so it is put together once: the struct's or the previous member's end, and
            // the next member's start.
            let openings: Vec<String> = records
                .names()
                .iter()
                .enumerate()
                .map(|(at, name)| {
                    debug_assert!(!name.bytes().any(|b| ESCAPED[b as usize]), "{name}");
                    let before = if at == 0 { "<value><struct>" } else { "</member>" };
                    format!("{before}<member><name>{name}</name>")
                })
                .collect();
            let closing =
                if openings.is_empty() { "<value><struct></struct></value>" } else { "</member></struct></value>" };
            out.push_str("<value><array><data>");
            for values in records.iter() {
                for (opening, member) in openings.iter().zip(values) {
                    out.push_str(opening);
                    write_value(out, member);
                }
                out.push_str(closing);
            }
            out.push_str("</data></array></value>");
        }
    }
}

/// Bytes that text content escapes: the three XML needs, and `\r`, which a parser would otherwise read back
/// as `\n` (dxr writes it as `&#13;` too; `xmlrpc.client` does not, and loses it). Quotes need no escaping
/// in text content; dxr escapes them, `xmlrpc.client` does not, and leaving them saves most of the escaping
/// work on JSON-bearing fields such as `raw_data`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'\r' as usize] = true;
    table
};

/// Whether any byte of the 8 packed in `word` is one that text content escapes (SWAR zero-byte test).
#[inline]
fn has_escaped_byte(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |c: u8| {
        let x = word ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    (zero_byte(b'&') | zero_byte(b'<') | zero_byte(b'>') | zero_byte(b'\r')) != 0
}

/// Text content escaped (see `ESCAPED`). Runs of plain bytes are skipped eight at a time.
fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !has_escaped_byte(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
            i + 8
        } else {
            bytes.len()
        };
        while i < end {
            let b = bytes[i];
            if ESCAPED[b as usize] {
                let entity = match b {
                    b'&' => "&amp;",
                    b'<' => "&lt;",
                    b'>' => "&gt;",
                    _ => "&#13;",
                };
                out.push_str(&text[start..i]);
                out.push_str(entity);
                start = i + 1;
            }
            i += 1;
        }
    }
    out.push_str(&text[start..]);
}

/// A fault in `/xmlrpc/2` (integer codes) or legacy `/xmlrpc` (string codes) form.
pub fn encode_fault(error: &Error, legacy: bool) -> String {
    let (code, string) = if legacy {
        let (code, string) = fault::legacy_code(error);
        (dxr::Value::String(code), string)
    } else {
        (dxr::Value::Integer(fault::int_code(error.kind())), error.message().to_string())
    };
    let mut members = std::collections::BTreeMap::new();
    members.insert("faultCode".to_string(), code);
    members.insert("faultString".to_string(), dxr::Value::String(string));
    match dxr::Value::Struct(members).to_xml() {
        Ok(value) => format!("{PROLOG}<methodResponse><fault>{value}</fault></methodResponse>"),
        // Only reachable if dxr cannot write a plain struct of two strings.
        Err(_) => format!(
            "{PROLOG}<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member>\
             <member><name>faultString</name><value><string>Internal error</string></value></member></struct></value></fault></methodResponse>"
        ),
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
    fn records_are_lists_of_structs_on_the_wire() {
        let records = crate::types::Records::new(vec!["id", "name"], vec![vec![Value::Int(3), Value::str("x")]]);
        let maps = Value::List(vec![Value::map([("id", Value::Int(3)), ("name", Value::str("x"))])]);
        assert_eq!(Value::records(records).into_xmlrpc(), maps.into_xmlrpc());
    }

    #[test]
    fn decodes_python_style_calls() {
        let body = br#"<?xml version='1.0'?>
<methodCall>
<methodName>execute_kw</methodName>
<params>
<param><value><string>db</string></value></param>
<param><value><int>2</int></value></param>
<param><value><nil/></value></param>
<param><value><array><data><value><struct><member><name>a</name><value><boolean>1</boolean></value></member></struct></value></data></array></value></param>
</params>
</methodCall>"#;
        let request = decode(body).unwrap();
        assert_eq!(request.method, "execute_kw");
        assert_eq!(request.params[1], Value::Int(2));
        assert_eq!(request.params[2], Value::Nil);
        assert_eq!(request.params[3], Value::List(vec![Value::map([("a", Value::Bool(true))])]));
    }

    #[test]
    fn refuses_doctype_and_garbage_without_echoing_the_body() {
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><methodCall><methodName>&e;</methodName></methodCall>"#;
        assert!(decode(xxe).unwrap_err().message().contains("DOCTYPE"));
        let secret =
            b"<methodCall><methodName>x</methodName><params><param><value><string>hunter2</string></value></param>";
        let err = decode(secret).unwrap_err();
        assert!(!err.message().contains("hunter2"));
        assert!(decode(&[0xff, 0xfe, 0x00]).is_err());
        let nul = b"<methodCall><methodName>version</methodName><params><param><value>a\x00b</value></param></params></methodCall>";
        assert!(decode(nul).unwrap_err().message().contains("control characters"));
    }

    #[test]
    fn faults_have_odoo_codes() {
        let xml = encode_fault(&Error::user("Please reconnect"), false);
        assert!(xml.contains("<i4>2</i4>") && xml.contains("Please reconnect"), "{xml}");
        let legacy = encode_fault(&Error::user("Please reconnect"), true);
        assert!(legacy.contains("warning -- UserError\n\nPlease reconnect"), "{legacy}");
        let denied = encode_fault(&Error::access_denied(), true);
        assert!(denied.contains("<string>AccessDenied</string>"), "{denied}");
    }

    /// The response dxr writes for the same value, with quotes unescaped: the reference the direct encoder
    /// must match byte for byte. dxr writes `"` and `'` only as these entities, so the replacement is exact.
    fn dxr_response(value: Value) -> String {
        let xml = format!("{PROLOG}{}", dxr::MethodResponse { value: value.into_xmlrpc() }.to_xml().unwrap());
        xml.replace("&quot;", "\"").replace("&apos;", "'")
    }

    #[test]
    fn encoder_matches_dxr() {
        let strings = [
            "",
            " ",
            "plain",
            "a&b<c>d'e\"f",
            "&amp; already",
            "tab\tnew\nline\r",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "é ü — 中文 🚀",
            "]]> <![CDATA[x]]>",
            "  leading and trailing  ",
            "<value><string>x</string></value>",
        ];
        let floats = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            1e-7,
            123456789.125,
            1e21,
            1e300,
            -2.5e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let ints =
            [0, 1, -1, i64::from(i32::MAX), i64::from(i32::MIN), 1 << 31, -(1 << 31) - 1, 1 << 53, i64::MAX, i64::MIN];
        let mut values: Vec<Value> = vec![Value::Nil, Value::Bool(true), Value::Bool(false)];
        values.extend(strings.iter().map(|s| Value::str(*s)));
        values.extend(floats.iter().map(|f| Value::Float(*f)));
        values.extend(ints.iter().map(|i| Value::Int(*i)));
        values.push(Value::List(vec![]));
        values.push(Value::Map(Default::default()));
        values.push(Value::map(strings.iter().map(|s| (*s, Value::str(*s)))));
        values.push(Value::List(values.clone()));
        values.push(Value::map([("nested", Value::List(vec![Value::map([("x", Value::List(values.clone()))])]))]));
        for value in values {
            let xml = encode_response(value.clone());
            assert_eq!(xml, dxr_response(value.clone()), "{value:?}");
            // And dxr reads every answer back as the value it encodes. Aside: NaN, which equals nothing, and
            // control characters, which no XML parser reads (stored text never holds them: see clean_text).
            let debug = format!("{value:?}");
            if !debug.contains("NaN") && !debug.contains("\\u{") {
                let body = xml.strip_prefix(PROLOG).unwrap();
                let parsed = dxr::MethodResponse::from_xml(body).unwrap();
                assert_eq!(parsed.value, value.clone().into_xmlrpc(), "{value:?}");
            }
        }
    }

    #[test]
    fn escaping_matches_a_char_by_char_escaper_at_every_position() {
        fn naive(text: &str) -> String {
            text.chars()
                .map(|c| match c {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '\r' => "&#13;".to_string(),
                    other => other.to_string(),
                })
                .collect()
        }
        // Random strings of every length up to 40, so escaped bytes fall at every offset of the 8-byte words.
        let alphabet = ['a', '&', '<', '>', '\'', '"', '\r', '\n', 'é', '中', '🚀', '\u{1}', '0', 'Z'];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..40 {
            for _ in 0..60 {
                let text: String = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let mut out = String::new();
                escape_into(&mut out, &text);
                assert_eq!(out, naive(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn records_encode_as_the_structs_of_their_members() {
        let names = vec!["id", "name", "tags"];
        let row = vec![Value::Int(7), Value::str("A & <B>"), Value::List(vec![])];
        let other = vec![Value::Int(8), Value::Nil, Value::List(vec![Value::Int(1)])];
        let records = crate::types::Records::new(names.clone(), vec![row.clone(), other.clone()]);
        let as_maps =
            Value::List(vec![Value::map(names.clone().into_iter().zip(row)), Value::map(names.into_iter().zip(other))]);
        assert_eq!(encode_response(Value::records(records.clone())), dxr_response(as_maps.clone()));
        assert_eq!(
            encode_response(Value::List(vec![Value::records(records.clone()), Value::records(records)])),
            dxr_response(Value::List(vec![as_maps.clone(), as_maps]))
        );
        let empty = crate::types::Records::new(vec!["id"], vec![]);
        assert_eq!(encode_response(Value::records(empty)), dxr_response(Value::List(vec![])));
        let memberless = crate::types::Records::new(vec![], vec![vec![], vec![]]);
        let two_empty_structs = Value::List(vec![Value::map::<String>([]), Value::map::<String>([])]);
        assert_eq!(encode_response(Value::records(memberless)), dxr_response(two_empty_structs));
    }

    #[test]
    fn registry_field_names_need_no_escaping() {
        let registry = crate::models::registry();
        for model in registry.models() {
            for field in &model.fields {
                assert!(
                    field.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "{}.{}",
                    model.name,
                    field.name
                );
            }
        }
    }

    #[test]
    fn responses_never_contain_nil() {
        let xml = encode_response(Value::List(vec![Value::Nil, Value::map([("x", Value::Nil)])]));
        assert!(!xml.contains("nil"), "{xml}");
    }
}
