//! `account.online.transaction`: a fetched bank transaction, the source of Odoo statement lines.

use crate::orm::{Access, CompanyScope, Default, Field, FieldType, Model};
use crate::types::TransactionStatus;

pub fn model() -> Model {
    let fields = vec![
        Field::new("online_transaction_identifier", "Online Transaction Identifier", FieldType::Char).required(),
        Field::new("date", "Date", FieldType::Date).required(),
        Field::new("amount", "Amount", FieldType::Float).required(),
        Field::new("currency_code", "Currency", FieldType::Char),
        Field::new("payment_ref", "Label", FieldType::Char),
        Field::new("partner_name", "Partner Name", FieldType::Char),
        Field::new("account_number", "Counterpart Account Number", FieldType::Char),
        Field::new("status", "Status", FieldType::Selection(TransactionStatus::SELECTION))
            .required()
            .default(Default::Str(TransactionStatus::Posted.as_str())),
        Field::new("online_account_id", "Online Account", FieldType::Many2one("account.online.account")).required(),
        Field::new("raw_data", "Raw Data", FieldType::Text)
            .readonly()
            .help("The transaction as Salt Edge sent it (JSON)"),
        Field::new("company_id", "Company", FieldType::Many2one("res.company"))
            .required()
            .default(Default::UserCompany),
        Field::new("create_date", "Created on", FieldType::Datetime).readonly(),
    ];
    Model {
        name: "account.online.transaction",
        description: "Online Transaction",
        table: "online_transactions",
        fields,
        rec_name: "payment_ref",
        order: "date desc, id desc",
        scope: CompanyScope::CompanyField,
        access: Access::ALL,
    }
}
