//! Method signatures as Odoo 19 declares them: whether a method takes records (`ids`) or is `@api.model`,
//! its parameters in order with their defaults, and what it returns. Odoo 19's JSON-2 API binds a call's
//! named arguments to them (Python's `inspect.Signature.bind`) and its `/doc` listing publishes them; the
//! generic methods' signatures are here, the buttons' in the models layer.

use std::collections::BTreeMap;

use crate::types::Value;

/// A parameter's default, as `inspect` reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamDefault {
    /// No default: the call must name it.
    Required,
    /// A default, as JSON text (`null`, `0`, `"ilike"`, …).
    Json(&'static str),
    /// `**kwargs`: takes any other named argument.
    VarKeyword,
}

#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub default: ParamDefault,
    pub annotation: &'static str,
}

pub const fn required(name: &'static str, annotation: &'static str) -> Param {
    Param { name, default: ParamDefault::Required, annotation }
}

pub const fn optional(name: &'static str, default: &'static str, annotation: &'static str) -> Param {
    Param { name, default: ParamDefault::Json(default), annotation }
}

#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub name: &'static str,
    /// `@api.model`: called without records (JSON-2 refuses `ids`).
    pub api_model: bool,
    /// `@api.readonly`.
    pub readonly: bool,
    pub params: &'static [Param],
    /// The return annotation; `list[int]` is a recordset, sent as its ids.
    pub returns: &'static str,
    /// `@api.deprecated`: callable, but left out of `/doc`.
    pub deprecated: bool,
}

impl Signature {
    pub const fn records(name: &'static str, params: &'static [Param], returns: &'static str) -> Signature {
        Signature { name, api_model: false, readonly: false, params, returns, deprecated: false }
    }

    pub const fn model(name: &'static str, params: &'static [Param], returns: &'static str) -> Signature {
        Signature { name, api_model: true, readonly: false, params, returns, deprecated: false }
    }

    const fn readonly(mut self) -> Signature {
        self.readonly = true;
        self
    }

    const fn deprecated(mut self) -> Signature {
        self.deprecated = true;
        self
    }

    /// Whether the method returns records (sent as a list of ids).
    pub fn returns_records(&self) -> bool {
        self.returns == "list[int]"
    }

    /// Checks named arguments against the parameters as Python's `Signature.bind` does, with its text:
    /// the first required parameter missing, else the first argument no parameter takes.
    pub fn bind(&self, kwargs: &BTreeMap<String, Value>) -> Result<(), String> {
        for param in self.params {
            if param.default == ParamDefault::Required && !kwargs.contains_key(param.name) {
                return Err(format!("missing a required argument: '{}'", param.name));
            }
        }
        if self.params.iter().any(|p| p.default == ParamDefault::VarKeyword) {
            return Ok(());
        }
        match kwargs.keys().find(|k| !self.params.iter().any(|p| p.name == k.as_str())) {
            Some(unexpected) => Err(format!("got an unexpected keyword argument '{unexpected}'")),
            None => Ok(()),
        }
    }

    /// `(domain, offset=0, …) -> list[int]`, as `/doc` prints it.
    pub fn text(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match p.default {
                ParamDefault::Required => p.name.to_string(),
                ParamDefault::VarKeyword => p.name.to_string(),
                ParamDefault::Json(json) => format!("{}={}", p.name, python_literal(json)),
            })
            .collect();
        format!("({}) -> {}", params.join(", "), self.returns)
    }
}

/// A JSON default as Python prints it (`None`, `'ilike'`, `True`).
fn python_literal(json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Null) => "None".to_string(),
        Ok(serde_json::Value::Bool(b)) => if b { "True" } else { "False" }.to_string(),
        Ok(serde_json::Value::String(s)) => format!("'{s}'"),
        _ => json.to_string(),
    }
}

const DOMAIN: &str = "DomainType";

/// The generic methods (`crate::orm::methods`) as Odoo 19 declares them, in `/doc` order.
pub const GENERIC: &[Signature] = &[
    Signature::model("check_access_rights", &[required("operation", ""), optional("raise_exception", "true", "")], "")
        .deprecated(),
    Signature::model("create", &[required("vals_list", "list[ValuesType]")], "list[int]"),
    Signature::model("default_get", &[required("fields", "Sequence[str]")], "ValuesType"),
    Signature::model(
        "fields_get",
        &[
            optional("allfields", "null", "Collection[str] | None"),
            optional("attributes", "null", "Collection[str] | None"),
        ],
        "dict[str, ValuesType]",
    ),
    Signature::model(
        "name_search",
        &[
            optional("name", "\"\"", "str"),
            optional("domain", "null", "DomainType | None"),
            optional("operator", "\"ilike\"", "str"),
            optional("limit", "100", "int"),
        ],
        "list[tuple[int, str]]",
    )
    .readonly(),
    Signature::records(
        "read",
        &[optional("fields", "null", "Sequence[str] | None"), optional("load", "\"_classic_read\"", "str")],
        "list[ValuesType]",
    )
    .readonly(),
    Signature::model(
        "search",
        &[
            required("domain", DOMAIN),
            optional("offset", "0", "int"),
            optional("limit", "null", "int | None"),
            optional("order", "null", "str | None"),
        ],
        "list[int]",
    )
    .readonly(),
    Signature::model("search_count", &[required("domain", DOMAIN), optional("limit", "null", "int | None")], "int")
        .readonly(),
    Signature::model(
        "search_read",
        &[
            optional("domain", "null", "DomainType | None"),
            optional("fields", "null", "Sequence[str] | None"),
            optional("offset", "0", "int"),
            optional("limit", "null", "int | None"),
            optional("order", "null", "str | None"),
            Param { name: "read_kwargs", default: ParamDefault::VarKeyword, annotation: "" },
        ],
        "list[ValuesType]",
    )
    .readonly(),
    Signature::records("unlink", &[], "typing.Literal[True]"),
    Signature::records("write", &[required("vals", "ValuesType")], "typing.Literal[True]"),
];

/// Odoo 19's methods marked `@api.private` on every model (`exists`, `browse`, `sudo`, …): refused over
/// JSON-2 as private although their names are public.
pub const PRIVATE: &[&str] = &[
    "search_fetch",
    "init",
    "fetch",
    "check_access",
    "exists",
    "lock_for_update",
    "try_lock_for_update",
    "browse",
    "ensure_one",
    "with_env",
    "sudo",
    "with_user",
    "with_company",
    "with_context",
    "with_prefetch",
    "mapped",
    "filtered",
    "grouped",
    "filtered_domain",
    "sorted",
    "update",
    "flush_model",
    "flush_recordset",
    "new",
    "concat",
    "union",
    "invalidate_model",
    "invalidate_recordset",
    "modified",
];

/// A generic method's Odoo 19 signature.
pub fn generic(name: &str) -> Option<&'static Signature> {
    GENERIC.iter().find(|s| s.name == name)
}

/// Whether Odoo 19 refuses `name` as a private method: a leading underscore or `@api.private`.
pub fn is_private(name: &str) -> bool {
    name.starts_with('_') || PRIVATE.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kwargs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn binding_reports_what_python_reports() {
        let search = generic("search").expect("search");
        assert_eq!(search.bind(&kwargs(&[])), Err("missing a required argument: 'domain'".to_string()));
        assert_eq!(
            search.bind(&kwargs(&[("domain", Value::List(vec![])), ("count", Value::Bool(true))])),
            Err("got an unexpected keyword argument 'count'".to_string())
        );
        // Missing comes before unexpected, as in `inspect`.
        assert_eq!(
            search.bind(&kwargs(&[("x", Value::Nil)])),
            Err("missing a required argument: 'domain'".to_string())
        );
        assert!(search.bind(&kwargs(&[("domain", Value::List(vec![])), ("limit", Value::Int(1))])).is_ok());
        // `**read_kwargs` takes anything.
        assert!(generic("search_read").expect("search_read").bind(&kwargs(&[("load", Value::Nil)])).is_ok());
        assert_eq!(search.text(), "(domain, offset=0, limit=None, order=None) -> list[int]");
        assert!(is_private("exists") && is_private("_read") && !is_private("read"));
    }
}
