//! XML-RPC codec over dxr: request decoding with Odoo-style guards, response and fault encoding.

use crate::error::{Error, Result};
use crate::rpc::fault;
use crate::rpc::Value;

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
    if contains_ignore_case(text, "<!DOCTYPE") || contains_ignore_case(text, "<!ENTITY") {
        return Err(Error::application("Invalid XML-RPC request: DOCTYPE and entity declarations are not allowed."));
    }
    let call = dxr::MethodCall::from_xml(text).map_err(|_| {
        Error::application(format!(
            "Invalid XML-RPC request: the body ({} bytes) is not a well-formed methodCall.",
            body.len()
        ))
    })?;
    Ok(Request { method: call.name.into_owned(), params: call.params.into_iter().map(Value::from_xmlrpc).collect() })
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

const PROLOG: &str = "<?xml version=\"1.0\"?>\n";

pub fn encode_response(value: Value) -> String {
    let response = dxr::MethodResponse { value: value.into_xmlrpc() };
    match response.to_xml() {
        Ok(xml) => format!("{PROLOG}{xml}"),
        Err(e) => encode_fault(&Error::internal("encoding the response", e), false),
    }
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

    #[test]
    fn responses_never_contain_nil() {
        let xml = encode_response(Value::List(vec![Value::Nil, Value::map([("x", Value::Nil)])]));
        assert!(!xml.contains("nil"), "{xml}");
    }
}
