//! `account.online.account`: one bank account of a link.

use crate::orm::{Access, CompanyScope, Default, Field, FieldType, Model};

pub const FETCHING_STATUSES: &[(&str, &str)] =
    &[("planned", "Planned"), ("waiting", "Waiting"), ("processing", "Processing"), ("done", "Done")];

pub fn model() -> Model {
    let mut fields = vec![
        Field::new("name", "Account Name", FieldType::Char)
            .required()
            .help("Account Name as provided by third party provider"),
        Field::new("account_number", "Account Number", FieldType::Char)
            .help("Set if third party provider has the full account number (IBAN)"),
        Field::new("balance", "Balance", FieldType::Float)
            .readonly()
            .help("Balance of the account sent by the third party provider"),
        Field::new("currency_code", "Currency", FieldType::Char),
        Field::new("online_identifier", "Online Identifier", FieldType::Char)
            .readonly()
            .help("Id used to identify account by third party provider"),
        Field::new("account_online_link_id", "Bank Connection", FieldType::Many2one("account.online.link")).required(),
        Field::new("journal_id", "Journal", FieldType::Integer).help("Id of the Odoo bank journal this account feeds"),
        Field::new("last_sync", "Last synchronization", FieldType::Date),
        Field::new("fetching_status", "Fetching Status", FieldType::Selection(FETCHING_STATUSES)).readonly(),
        Field::new("inverse_transaction_sign", "Inverse Transaction Sign", FieldType::Boolean)
            .default(Default::Bool(false)),
        Field::new("company_id", "Company", FieldType::Many2one("res.company"))
            .required()
            .default(Default::UserCompany),
    ];
    fields.extend(super::audit_fields());
    Model {
        name: "account.online.account",
        description: "Online Account",
        table: "online_accounts",
        fields,
        rec_name: "name",
        order: "id",
        scope: CompanyScope::CompanyField,
        access: Access::ALL,
    }
}
