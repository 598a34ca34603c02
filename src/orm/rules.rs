//! Odoo's record rules for the bridge's one rule, the company: another company's records are invisible to
//! searches (`Orm::push_scope`), and naming them by id in `read`, `write`, `unlink`, an x2many command or a
//! button is Odoo's access error, decided here once for every entry point.

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::access::Operation;
use crate::orm::model::{CompanyScope, Model};
use crate::orm::read::{join_ids, Orm};
use crate::orm::sql::{Sql, SqlValue};

impl Orm<'_> {
    /// Refuses `operation` on `ids` when any of them exists in another company (ids that do not exist at
    /// all are left to the caller: Odoo skips them on read and unlink).
    pub fn check_rules(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        operation: Operation,
    ) -> Result<()> {
        if model.scope == CompanyScope::Global || ids.is_empty() {
            return Ok(());
        }
        let column = match model.scope {
            CompanyScope::CompanyField => "company_id",
            _ => "id",
        };
        for chunk in ids.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!(
                "SELECT t.id AS id FROM {} t WHERE t.id IN ({}) AND t.{column} <> ",
                model.table,
                join_ids(chunk)
            ));
            sql.bind(SqlValue::Int(self.env.company_id));
            sql.push(" LIMIT 1");
            if !sql.load_ids(conn)?.is_empty() {
                return Err(self.rule_error(conn, model, operation));
            }
        }
        Ok(())
    }

    /// Odoo's text for records its rules refuse (`ir.rule._make_access_error`, as a user outside debug mode
    /// reads it): it names the user, the operation and the model, not the records.
    fn rule_error(&self, conn: &mut AnyConnection, model: &Model, operation: Operation) -> Error {
        let mut sql = Sql::new(self.backend);
        sql.push("SELECT u.id AS id, u.name AS label FROM users u WHERE u.id = ");
        sql.bind(SqlValue::Int(self.env.uid));
        let user = match sql.load_id_texts(conn) {
            Ok(rows) => rows.into_iter().next().and_then(|(_, name)| name).unwrap_or_default(),
            Err(e) => return e,
        };
        let operation = match operation {
            Operation::Write => "write",
            Operation::Create => "create",
            Operation::Unlink => "unlink",
            Operation::Read | Operation::None => "read",
        };
        Error::access(format!(
            "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\nSorry, {user} (id={}) doesn't have \
             '{operation}' access to:\n- {} ({})\n\nIf you really, really need access, perhaps you can win over your \
             friendly administrator with a batch of freshly baked cookies.",
            self.env.uid, model.description, model.name
        ))
    }
}
