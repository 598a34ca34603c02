//! `account.online.link`: one bank connection (a Salt Edge connection of one customer).

use crate::orm::{Access, CompanyScope, Default, Field, FieldType, Model};

pub const LINK_STATES: &[(&str, &str)] =
    &[("connected", "Connected"), ("error", "Error"), ("disconnected", "Not Connected")];

pub fn model() -> Model {
    let mut fields = vec![
        Field::new("name", "Name", FieldType::Char).help("Institution Name"),
        Field::new("institution_id", "Institution", FieldType::Many2one("account.online.institution")),
        Field::new("provider_code", "Provider Code", FieldType::Char),
        Field::new("state", "State", FieldType::Selection(LINK_STATES))
            .required()
            .readonly()
            .default(Default::Str("disconnected")),
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
        Field::new("connection_identifier", "Connection", FieldType::Char).readonly().help("Salt Edge connection id"),
        Field::new("error_message", "Error Message", FieldType::Text).readonly(),
        Field::new("has_unlinked_accounts", "Has Unlinked Accounts", FieldType::Boolean)
            .readonly()
            .default(Default::Bool(true))
            .help("True if that connection still has accounts that are not linked to an Odoo journal"),
        Field::new("renewal_contact_email", "Renewal Contact Email", FieldType::Char)
            .help("Who is asked to renew the consent before it expires"),
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
        methods: vec![],
        before_unlink: None,
    }
}
