//! `account.online.institution`: a bank an aggregator offers — a Salt Edge provider (`GET /providers`) or
//! an Enable Banking ASPSP (`GET /aspsps`) — with the aggregator it belongs to (`provider`).

use std::sync::Arc;

use crate::app::App;
use crate::models::{Button, ButtonFuture};
use crate::orm::signature::Signature;
use crate::orm::{Access, Call, CompanyScope, Field, FieldType, Model};
use crate::types::{Provider, Value};

pub const STATUSES: &[(&str, &str)] = &[("active", "Active"), ("inactive", "Inactive"), ("disabled", "Disabled")];
pub const MODES: &[(&str, &str)] = &[("oauth", "OAuth"), ("web", "Web"), ("api", "API"), ("file", "File")];

pub fn model() -> Model {
    let mut fields = vec![
        Field::new("name", "Institution", FieldType::Char).required().readonly(),
        Field::new("code", "Provider Code", FieldType::Char)
            .required()
            .readonly()
            .help("The aggregator's code of the bank: a Salt Edge provider code (e.g. fakebank_simple_xf) or an Enable Banking bank (enablebanking:<country>:<name>)"),
        Field::new("country_code", "Country", FieldType::Char)
            .readonly()
            .help("ISO 3166-1 alpha-2; XF is Salt Edge's fake country"),
        Field::new("status", "Status", FieldType::Selection(STATUSES)).readonly(),
        Field::new("mode", "Mode", FieldType::Selection(MODES)).readonly(),
        Field::new("max_consent_days", "Maximum Consent Days", FieldType::Integer).readonly(),
        Field::new("supported_fetch_scopes", "Supported Fetch Scopes", FieldType::Char).readonly(),
        Field::new("logo_url", "Logo URL", FieldType::Char).readonly(),
        Field::new("provider", "Aggregator", FieldType::Selection(Provider::SELECTION))
            .required()
            .readonly()
            .help("Who connects the bridge to this bank: Salt Edge or Enable Banking"),
    ];
    fields.extend(super::audit_fields());
    Model {
        name: "account.online.institution",
        description: "Online Institution",
        table: "online_institutions",
        fields,
        rec_name: "name",
        order: "name",
        scope: CompanyScope::Global,
        access: Access::READ_ONLY,
    }
}

pub const BUTTONS: &[(Signature, Button)] = &[(Signature::model("action_refresh", &[], "int"), action_refresh)];

/// Refreshes the institution list from every configured aggregator; returns how many were new.
fn action_refresh(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&[])?;
        let added = crate::sync::refresh_institutions(&app).await?;
        Ok(Value::Int(added as i64))
    })
}
