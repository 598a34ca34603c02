//! `fields_get`: a model's fields described as Odoo 17 describes them.

use std::collections::BTreeMap;

use crate::orm::model::{FieldType, Model};
use crate::types::Value;

pub fn fields_get(model: &Model, all: Option<&[String]>, attributes: Option<&[String]>) -> Value {
    let mut out = BTreeMap::new();
    for field in model.all_fields() {
        if let Some(all) = all {
            if !all.iter().any(|n| n == field.name) {
                continue;
            }
        }
        let mut desc: Vec<(&str, Value)> = vec![
            ("name", Value::str(field.name)),
            ("type", Value::str(field.ftype.odoo_name())),
            ("string", Value::str(field.string)),
            ("help", if field.help.is_empty() { Value::Bool(false) } else { Value::str(field.help) }),
            ("readonly", Value::Bool(field.readonly)),
            ("required", Value::Bool(field.required)),
            ("store", Value::Bool(field.is_stored() && field.name != "display_name")),
            ("searchable", Value::Bool(true)),
            ("sortable", Value::Bool(field.is_stored() && field.name != "display_name")),
            ("manual", Value::Bool(false)),
            ("company_dependent", Value::Bool(false)),
            ("change_default", Value::Bool(false)),
            ("depends", Value::List(vec![])),
        ];
        match field.ftype {
            FieldType::Selection(options) => desc.push((
                "selection",
                Value::List(options.iter().map(|(k, l)| Value::List(vec![Value::str(*k), Value::str(*l)])).collect()),
            )),
            FieldType::Many2one(comodel) => {
                desc.push(("relation", Value::str(comodel)));
                desc.push(("domain", Value::List(vec![])));
                desc.push(("context", Value::Map(BTreeMap::new())));
            }
            FieldType::One2many(comodel, inverse) => {
                desc.push(("relation", Value::str(comodel)));
                desc.push(("relation_field", Value::str(inverse)));
                desc.push(("domain", Value::List(vec![])));
                desc.push(("context", Value::Map(BTreeMap::new())));
            }
            FieldType::Char | FieldType::Text => desc.push(("translate", Value::Bool(false))),
            _ => {}
        }
        let desc = desc
            .into_iter()
            .filter(|(k, _)| attributes.is_none_or(|a| a.is_empty() || a.iter().any(|x| x == k)))
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        out.insert(field.name.to_string(), Value::Map(desc));
    }
    Value::Map(out)
}
