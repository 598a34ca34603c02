//! The few base models Odoo clients expect to find: companies, users (`context_get` is called by
//! odoo-client-lib and OdooRPC at login) and `ir.model` (OdooRPC looks models up there).

use std::sync::Arc;

use crate::app::App;
use crate::models::{Button, ButtonFuture};
use crate::orm::signature::Signature;
use crate::orm::Call;
use crate::orm::{Access, CompanyScope, Field, FieldType, Model};
use crate::types::Value;

pub fn res_company() -> Model {
    Model {
        name: "res.company",
        description: "Companies",
        table: "companies",
        fields: vec![
            Field::new("name", "Company Name", FieldType::Char).required(),
            Field::new("country_code", "Country Code", FieldType::Char),
        ],
        rec_name: "name",
        order: "name",
        scope: CompanyScope::OwnCompany,
        access: Access::READ_ONLY,
    }
}

pub fn res_users() -> Model {
    Model {
        name: "res.users",
        description: "User",
        table: "users",
        fields: vec![
            Field::new("login", "Login", FieldType::Char).required(),
            Field::new("name", "Name", FieldType::Char).required(),
            Field::new("company_id", "Company", FieldType::Many2one("res.company")).required(),
            Field::new("active", "Active", FieldType::Boolean),
        ],
        rec_name: "name",
        order: "name, login",
        scope: CompanyScope::CompanyField,
        access: Access::READ_ONLY,
    }
}

pub const USER_BUTTONS: &[(Signature, Button)] = &[(Signature::model("context_get", &[], "dict"), context_get)];

fn context_get(_app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        Ok(Value::map([("lang", Value::str("en_US")), ("tz", Value::str("UTC")), ("uid", Value::Int(call.env.uid))]))
    })
}

pub fn ir_model() -> Model {
    Model {
        name: "ir.model",
        description: "Models",
        table: "ir_models",
        fields: vec![
            Field::new("model", "Model", FieldType::Char).required().readonly(),
            Field::new("name", "Model Description", FieldType::Char).required().readonly(),
            Field::new("transient", "Transient Model", FieldType::Boolean).readonly(),
        ],
        rec_name: "name",
        order: "model",
        scope: CompanyScope::Global,
        access: Access::READ_ONLY,
    }
}
