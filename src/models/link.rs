//! `account.online.link`: one bank connection (a Salt Edge connection of one customer, or an Enable
//! Banking session), through the aggregator its `provider` names.

use std::sync::Arc;

use crate::app::App;
use crate::error::{Error, Result};
use crate::models::actions::odoo_action;
use crate::models::{Button, ButtonFuture};
use crate::orm::signature::{optional, Param, Signature};
use crate::orm::{Access, Call, CompanyScope, Default, Field, FieldType, Model};
use crate::sync::{self, Answer, Level, NewSynchronization};
use crate::types::{LinkState, Provider, Value};

pub fn model() -> Model {
    let mut fields = vec![
        Field::new("name", "Name", FieldType::Char).help("Institution Name"),
        Field::new("institution_id", "Institution", FieldType::Many2one("account.online.institution")),
        Field::new("provider_code", "Provider Code", FieldType::Char),
        Field::new("state", "State", FieldType::Selection(LinkState::SELECTION))
            .required()
            .readonly()
            .default(Default::Str(LinkState::Disconnected.as_str())),
        Field::new("auto_sync", "Automatic synchronization", FieldType::Boolean)
            .default(Default::Bool(true))
            .help("If possible, we will try to automatically fetch new transactions for this record"),
        Field::new("last_refresh", "Last refresh", FieldType::Datetime).readonly(),
        Field::new("next_refresh", "Next synchronization", FieldType::Datetime).readonly(),
        Field::new("expiring_synchronization_date", "Consent Expiry Date", FieldType::Date)
            .readonly()
            .help("Date when the consent for this connection expires"),
        Field::new(
            "account_online_account_ids",
            "Accounts",
            FieldType::One2many("account.online.account", "account_online_link_id"),
        ),
        Field::new("company_id", "Company", FieldType::Many2one("res.company"))
            .required()
            .default(Default::UserCompany),
        Field::new("client_id", "Client id", FieldType::Char).readonly().help("Salt Edge customer id"),
        Field::new("connection_identifier", "Connection", FieldType::Char)
            .readonly()
            .help("The aggregator's connection: a Salt Edge connection id or an Enable Banking session id"),
        Field::new("error_message", "Error Message", FieldType::Text).readonly(),
        Field::new("sync_progress", "Synchronization progress", FieldType::Char)
            .readonly()
            .help("What the running synchronization is doing"),
        Field::new("has_unlinked_accounts", "Has Unlinked Accounts", FieldType::Boolean)
            .readonly()
            .default(Default::Bool(true))
            .help("True if that connection still has accounts that are not linked to an Odoo journal"),
        Field::new("renewal_contact_email", "Renewal Contact Email", FieldType::Char)
            .help("Who is asked to renew the consent before it expires"),
        Field::new("provider", "Aggregator", FieldType::Selection(Provider::SELECTION))
            .required()
            .readonly()
            .default(Default::Str(Provider::SaltEdge.as_str()))
            .help("Who connects the bridge to the bank: taken from the institution when the connection starts"),
    ];
    fields.extend(super::audit_fields());
    Model {
        name: "account.online.link",
        description: "Bank Connection",
        table: "online_links",
        fields,
        rec_name: "name",
        order: "id",
        scope: CompanyScope::CompanyField,
        access: Access::ALL,
    }
}

const RETURN_TO: Param = optional("return_to", "null", "str | None");

pub const BUTTONS: &[(Signature, Button)] = &[
    (
        Signature::records(
            "action_new_synchronization",
            &[
                optional("institution_code", "null", "str | None"),
                optional("email", "null", "str | None"),
                optional("phone", "null", "str | None"),
                RETURN_TO,
            ],
            "dict",
        ),
        action_new_synchronization,
    ),
    (Signature::records("action_update_credentials", &[RETURN_TO], "dict"), action_update_credentials),
    (Signature::records("action_fetch_accounts", &[], "dict"), action_fetch_accounts),
    (Signature::records("action_fetch_transactions", &[], "dict"), action_fetch_transactions),
    (Signature::records("action_revoke_consent", &[], "dict"), action_revoke_consent),
    (Signature::records("action_remove_connection", &[], "dict"), action_remove_connection),
];

fn text_arg(call: &Call, pos: usize, name: &str) -> Result<Option<String>> {
    match call.arg(pos, name) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.to_string())),
        Some(other) => {
            Err(Error::application(format!("{}(): {name} must be a string, got {}", call.method, other.kind())))
        }
    }
}

/// Buttons that open a page act on exactly one record, like Odoo's `ensure_one()`.
fn one_id(call: &Call) -> Result<i64> {
    match call.ids()?.as_slice() {
        [id] => Ok(*id),
        ids => Err(Error::application(format!("Expected singleton: account.online.link({})", ids.len()))),
    }
}

fn action_new_synchronization(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&["institution_code", "email", "phone", "return_to"])?;
        let request = NewSynchronization {
            link_ids: call.args.first().map(crate::orm::convert::id_list).transpose()?.unwrap_or_default(),
            institution_code: text_arg(&call, 1, "institution_code")?.unwrap_or_default(),
            email: text_arg(&call, 2, "email")?.unwrap_or_default(),
            phone: text_arg(&call, 3, "phone")?,
            return_to: text_arg(&call, 4, "return_to")?,
        };
        sync::new_synchronization(&app, call.env.company_id, request).await.map(odoo_action)
    })
}

fn action_update_credentials(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&["return_to"])?;
        let return_to = text_arg(&call, 1, "return_to")?;
        sync::update_credentials(&app, call.env.company_id, one_id(&call)?, return_to).await.map(odoo_action)
    })
}

fn action_fetch_accounts(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&[])?;
        sync::fetch_accounts(&app, call.env.company_id, one_id(&call)?).await.map(odoo_action)
    })
}

fn action_fetch_transactions(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&[])?;
        sync::fetch_transactions(&app, call.env.company_id, &call.ids()?).await.map(odoo_action)
    })
}

fn action_revoke_consent(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&[])?;
        let mut names = Vec::new();
        let mut kept_at_salt_edge = false;
        for id in call.ids()? {
            let link = sync::revoke_consent(&app, call.env.company_id, id).await?;
            kept_at_salt_edge |= link.provider() == Provider::SaltEdge;
            names.push(link.label());
        }
        let message = if kept_at_salt_edge {
            format!(
                "Consent revoked for {}. The connection still exists at Salt Edge until you remove it.",
                names.join(", ")
            )
        } else {
            format!("Consent revoked for {}: the bank shares no more data.", names.join(", "))
        };
        Ok(odoo_action(Answer::notice("Consent revoked", message, Level::Warning)))
    })
}

fn action_remove_connection(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        call.check_kwargs(&[])?;
        let mut names = Vec::new();
        let mut aggregators = Vec::new();
        for id in call.ids()? {
            let link = sync::remove_connection(&app, call.env.company_id, id).await?;
            aggregators.push(link.provider().label());
            names.push(link.label());
        }
        aggregators.dedup();
        let message = format!(
            "Connection removed at {} for {}; the record can now be deleted.",
            aggregators.join(" and "),
            names.join(", ")
        );
        Ok(odoo_action(Answer::notice("Connection removed", message, Level::Success)))
    })
}

/// A bank link must not vanish while its aggregator still holds its connection.
pub fn before_unlink(app: Arc<App>, call: Call) -> ButtonFuture {
    Box::pin(async move {
        sync::before_unlink(&app, call.env.company_id, &call.ids()?).await?;
        Ok(Value::Bool(true))
    })
}
