//! The `/doc` listing of Odoo 19 (its `api_doc` module) for what an API key may reach: every model with
//! its fields and the methods JSON-2 serves on it, their parameters and whether they take records.
//! JSON-2 clients (odooly, odoo-client-lib) read a model's document to turn positional arguments into
//! named ones.

use crate::models;
use crate::orm::fields_get::fields_get;
use crate::orm::model::Model;
use crate::orm::registry::Registry;
use crate::orm::signature::{self, ParamDefault, Signature};
use crate::types::Value;

/// A JSON document whose objects keep their members' order (serde_json's own objects are sorted by key):
/// clients read a method's parameters in order to name positional arguments.
pub enum Doc {
    Json(serde_json::Value),
    Object(Vec<(String, Doc)>),
}

impl serde::Serialize for Doc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Doc::Json(value) => value.serialize(serializer),
            Doc::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// The methods JSON-2 serves on `model`: the generic ones (deprecated ones left out, as Odoo's listing
/// leaves them out) and its buttons, by name.
fn methods(model: &Model) -> Vec<&'static Signature> {
    let mut out: Vec<&'static Signature> = signature::GENERIC.iter().filter(|s| !s.deprecated).collect();
    out.extend(models::buttons(model.name).iter().map(|(s, _)| s));
    out.sort_by_key(|s| s.name);
    out
}

/// `/doc-bearer/index.json`: `{modules, models: [{model, name, fields: {name: {string}}, methods}]}`.
pub fn index(registry: &Registry) -> serde_json::Value {
    let models: Vec<serde_json::Value> = registry
        .models()
        .map(|model| {
            let fields: serde_json::Map<String, serde_json::Value> =
                model.all_fields().map(|f| (f.name.to_string(), serde_json::json!({"string": f.string}))).collect();
            serde_json::json!({
                "model": model.name,
                "name": model.description,
                "fields": fields,
                "methods": methods(model).iter().map(|s| s.name).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({"modules": ["base", "bankbridge"], "models": models})
}

/// `/doc-bearer/<model>.json`: the model's `fields_get` and each method's signature.
pub fn model(model: &Model) -> Doc {
    let fields = match fields_get(model, None, None) {
        Value::Map(fields) => fields
            .into_iter()
            .map(|(name, desc)| {
                let mut desc = desc.into_json();
                if let Some(members) = desc.as_object_mut() {
                    let module = if matches!(name.as_str(), "id" | "display_name") { None } else { Some("bankbridge") };
                    members.insert("module".to_string(), serde_json::json!(module));
                }
                (name, desc)
            })
            .collect(),
        _ => serde_json::Map::new(),
    };
    let methods = methods(model).into_iter().map(|s| (s.name.to_string(), method(s))).collect();
    Doc::Object(vec![
        ("model".to_string(), Doc::Json(serde_json::json!(model.name))),
        ("name".to_string(), Doc::Json(serde_json::json!(model.description))),
        ("doc".to_string(), Doc::Json(serde_json::Value::Null)),
        ("fields".to_string(), Doc::Json(serde_json::Value::Object(fields))),
        ("methods".to_string(), Doc::Object(methods)),
    ])
}

/// One method as `api_doc` describes it: `signature`, `parameters` (`kind` only when not
/// positional-or-keyword, `default` when there is one), `return`, `api`, `model`, `module`.
fn method(signature: &Signature) -> Doc {
    let parameters = signature
        .params
        .iter()
        .map(|p| {
            let mut desc = serde_json::Map::new();
            match p.default {
                ParamDefault::Required => {}
                ParamDefault::VarKeyword => {
                    desc.insert("kind".to_string(), serde_json::json!("VAR_KEYWORD"));
                }
                ParamDefault::Json(json) => {
                    let default = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
                    desc.insert("default".to_string(), default);
                }
            }
            if !p.annotation.is_empty() {
                desc.insert("annotation".to_string(), serde_json::json!(p.annotation));
            }
            (p.name.to_string(), Doc::Json(serde_json::Value::Object(desc)))
        })
        .collect();
    let mut api = Vec::new();
    if signature.api_model {
        api.push("model");
    }
    if signature.readonly {
        api.push("readonly");
    }
    let mut out = vec![
        ("signature".to_string(), Doc::Json(serde_json::json!(signature.text()))),
        ("parameters".to_string(), Doc::Object(parameters)),
    ];
    if !signature.returns.is_empty() {
        out.push(("return".to_string(), Doc::Json(serde_json::json!({"annotation": signature.returns}))));
    }
    if !api.is_empty() {
        out.push(("api".to_string(), Doc::Json(serde_json::json!(api))));
    }
    out.push(("model".to_string(), Doc::Json(serde_json::json!("core"))));
    out.push(("module".to_string(), Doc::Json(serde_json::json!("core"))));
    Doc::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_models_document_lists_each_methods_parameters_in_order() {
        let registry = models::registry();
        let link = registry.model("account.online.link").expect("link");
        let text = serde_json::to_string(&model(link)).expect("json");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("parse");
        let search = &doc["methods"]["search"];
        assert_eq!(search["api"], serde_json::json!(["model", "readonly"]));
        // serde_json's objects sort their keys: the order clients read is the text's.
        let search_text = &text[text.find("\"search\":{\"signature\"").expect("search")..];
        let at = |name: &str| search_text.find(&format!("\"{name}\":{{")).unwrap_or(usize::MAX);
        assert!(
            at("domain") < at("offset") && at("offset") < at("limit") && at("limit") < at("order"),
            "{search_text}"
        );
        assert_eq!(search["parameters"]["offset"]["default"], serde_json::json!(0));
        assert!(doc["methods"]["write"].get("api").is_none(), "write takes records");
        assert!(doc["methods"]["action_fetch_accounts"].is_object(), "buttons are listed");
        assert!(doc["methods"].get("check_access_rights").is_none(), "deprecated methods are left out");
        assert_eq!(doc["fields"]["institution_id"]["relation"], "account.online.institution");
    }
}
