//! Odoo's record rules for the bridge's one rule, the company: another company's records are invisible to
//! searches (`Orm::push_scope`), and naming them by id in `read`, `write`, `unlink`, an x2many command or a
//! button is Odoo's access error, decided here once for every entry point.

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::access::Operation;
use crate::orm::model::{CompanyScope, Model};
use crate::orm::read::Orm;
use crate::orm::sql::{Sql, SqlValue};

/// Odoo's missing error for records that are gone (`(Record: model(1, 2), User: 7)` as Python prints them).
pub fn missing_error(model: &Model, ids: &[i64], uid: i64) -> Error {
    let ids = match ids {
        [one] => format!("{one},"),
        many => many.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
    };
    Error::missing(format!("Record does not exist or has been deleted.\n(Record: {}({ids}), User: {uid})", model.name))
}

impl Orm<'_> {
    /// Odoo's record rules on `ids` for `operation`: another company's record is an access error; a record
    /// that does not exist is a missing error for `write` and `unlink` (Odoo's rule check reads the company
    /// of each record first) and is left out of a `read`.
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
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut found = Vec::with_capacity(unique.len());
        let mut foreign = false;
        for chunk in unique.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("SELECT t.id AS id, CAST(t.{column} AS TEXT) AS label FROM {} t WHERE ", model.table));
            sql.push_id_in("t.id", chunk);
            for (id, owner) in sql.load_id_texts(conn)? {
                found.push(id);
                foreign |= owner.and_then(|o| o.parse::<i64>().ok()) != Some(self.env.company_id);
            }
        }
        if operation != Operation::Read && found.len() < unique.len() {
            found.sort_unstable();
            let missing: Vec<i64> = unique.into_iter().filter(|id| found.binary_search(id).is_err()).collect();
            return Err(missing_error(model, &missing, self.env.uid));
        }
        if foreign {
            return Err(self.rule_error(conn, model, operation));
        }
        Ok(())
    }

    /// Odoo's text for records its rules refuse (`ir.rule._make_access_error`, as a user outside debug mode
    /// reads it): it names the user, the operation and the model, not the records.
    pub(crate) fn rule_error(&self, conn: &mut AnyConnection, model: &Model, operation: Operation) -> Error {
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
