//! Writing: `create`, `write`, `unlink` with their checks (access, read-only and required fields, the
//! caller's company, visible references), x2many commands, defaults, and the bridge's own internal writes.

use std::collections::BTreeMap;

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::access::{check_access, Operation};
use crate::orm::args::{invalid_field, Env};
use crate::orm::convert::{coerce_for_write, id_list};
use crate::orm::model::{CompanyScope, Default, Field, FieldType, Model};
use crate::orm::read::{join_ids, Orm, Search};
use crate::orm::sql::{Sql, SqlValue};
use crate::types::time::now_string;
use crate::types::Value;

pub(crate) fn default_value(field: &Field, env: &Env) -> Option<Value> {
    match field.default {
        Default::None => None,
        Default::Bool(b) => Some(Value::Bool(b)),
        Default::Str(s) => Some(Value::str(s)),
        Default::Int(i) => Some(Value::Int(i)),
        Default::Float(f) => Some(Value::Float(f)),
        Default::UserCompany => Some(Value::Int(env.company_id)),
        Default::Now => Some(Value::Str(now_string())),
    }
}

impl Orm<'_> {
    /// Checks a many2one target exists and is visible (a user must not attach records to another company's).
    fn check_reference(&self, conn: &mut AnyConnection, field: &Field, value: &SqlValue) -> Result<()> {
        let (FieldType::Many2one(comodel), SqlValue::Int(id)) = (field.ftype, value) else {
            return Ok(());
        };
        let comodel = self.registry.model(comodel)?;
        if self.visible_ids(conn, comodel, &[*id])?.is_empty() {
            return Err(Error::validation(format!(
                "The value of {} refers to a {} record ({id}) that does not exist or that you cannot access.",
                field.name, comodel.description
            )));
        }
        Ok(())
    }

    /// Splits incoming values into column assignments and one2many commands, validating each.
    #[allow(clippy::type_complexity)]
    fn prepare_values<'m, 'v>(
        &self,
        conn: &mut AnyConnection,
        model: &'m Model,
        vals: &'v BTreeMap<String, Value>,
        creating: bool,
    ) -> Result<(Vec<(&'static str, SqlValue)>, Vec<(&'m Field, &'v Value)>)> {
        let mut columns = Vec::new();
        let mut commands = Vec::new();
        for (name, value) in vals {
            let field = model.field(name).ok_or_else(|| invalid_field(model, name))?;
            if field.name == "id" || field.name == "display_name" {
                return Err(Error::validation(format!(
                    "The field {} of {} cannot be written.",
                    field.name, model.name
                )));
            }
            if field.name == "company_id" && model.scope == CompanyScope::CompanyField {
                if value.as_i64() == Some(self.env.company_id) || value.is_null() && !creating {
                    if value.is_null() {
                        return Err(Error::validation("company_id is required."));
                    }
                    continue;
                }
                return Err(Error::access(format!(
                    "You cannot put a {} record in a company you do not belong to.",
                    model.description
                )));
            }
            if field.readonly {
                return Err(Error::validation(format!(
                    "The field '{}' ({}) of {} is read-only: the bridge sets it.",
                    field.string, field.name, model.name
                )));
            }
            if let FieldType::One2many(..) = field.ftype {
                commands.push((field, value));
                continue;
            }
            let sql_value = coerce_for_write(model.name, field, value)?;
            if field.required && matches!(sql_value, SqlValue::Null(_)) {
                return Err(Error::validation(format!("The field '{}' ({}) is required.", field.string, field.name)));
            }
            self.check_reference(conn, field, &sql_value)?;
            columns.push((field.name, sql_value));
        }
        Ok((columns, commands))
    }

    pub fn create(&self, conn: &mut AnyConnection, model: &Model, vals: &BTreeMap<String, Value>) -> Result<i64> {
        check_access(model, Operation::Create)?;
        let (mut columns, commands) = self.prepare_values(conn, model, vals, true)?;
        for field in model.fields.iter().filter(|f| f.is_stored()) {
            if columns.iter().any(|(n, _)| *n == field.name) {
                continue;
            }
            let value = match (field.name, model.scope) {
                ("company_id", CompanyScope::CompanyField) => Some(SqlValue::Int(self.env.company_id)),
                ("create_date" | "write_date", _) => Some(SqlValue::Text(now_string())),
                _ => default_value(field, self.env).map(|v| coerce_for_write(model.name, field, &v)).transpose()?,
            };
            match value {
                Some(v) => columns.push((field.name, v)),
                None if field.required => {
                    return Err(Error::validation(format!(
                        "Missing required value for the field '{}' ({}) of {}.",
                        field.string, field.name, model.name
                    )))
                }
                None => {}
            }
        }
        let mut sql = Sql::new(self.backend);
        sql.push(&format!(
            "INSERT INTO {} ({}) VALUES (",
            model.table,
            columns.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ));
        for (i, (_, v)) in columns.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(v);
        }
        sql.push(") RETURNING id");
        let id = sql.load_ids(conn)?.first().copied().ok_or_else(|| Error::application("insert returned no id"))?;
        for (field, value) in commands {
            self.apply_commands(conn, field, id, value)?;
        }
        Ok(id)
    }

    pub fn write(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        vals: &BTreeMap<String, Value>,
    ) -> Result<()> {
        check_access(model, Operation::Write)?;
        if ids.is_empty() {
            return Ok(());
        }
        self.ensure_visible(conn, model, ids)?;
        let (mut columns, commands) = self.prepare_values(conn, model, vals, false)?;
        if model.field("write_date").is_some() {
            columns.push(("write_date", SqlValue::Text(now_string())));
        }
        if !columns.is_empty() {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("UPDATE {} SET ", model.table));
            for (i, (name, v)) in columns.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push(&format!("{name} = "));
                sql.bind(v);
            }
            sql.push(&format!(" WHERE id IN ({})", join_ids(ids)));
            sql.execute(conn)?;
        }
        for (field, value) in commands {
            for id in ids {
                self.apply_commands(conn, field, *id, value)?;
            }
        }
        Ok(())
    }

    pub fn unlink(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<()> {
        check_access(model, Operation::Unlink)?;
        // As in Odoo, ids that are already gone are ignored; other companies' records are invisible.
        let visible = self.visible_ids(conn, model, ids)?;
        for chunk in visible.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("DELETE FROM {} WHERE id IN ({})", model.table, join_ids(chunk)));
            sql.execute(conn)?;
        }
        Ok(())
    }

    /// Odoo's x2many commands: (0,0,vals) (1,id,vals) (2,id) (3,id) (4,id) (5,) (6,0,ids).
    fn apply_commands(&self, conn: &mut AnyConnection, field: &Field, parent: i64, value: &Value) -> Result<()> {
        let FieldType::One2many(comodel, inverse) = field.ftype else {
            return Ok(());
        };
        let comodel = self.registry.model(comodel)?;
        let bad = || {
            Error::validation(format!(
                "{} takes a list of commands such as (0, 0, values), (4, id), (6, 0, ids).",
                field.name
            ))
        };
        let commands = value.as_list().ok_or_else(bad)?;
        let children = |orm: &Self, conn: &mut AnyConnection| -> Result<Vec<i64>> {
            let domain = Value::List(vec![Value::List(vec![Value::str(inverse), Value::str("="), Value::Int(parent)])]);
            orm.search(conn, comodel, &Search::all(&domain))
        };
        let link = |orm: &Self, conn: &mut AnyConnection, ids: &[i64]| -> Result<()> {
            let mut vals = BTreeMap::new();
            vals.insert(inverse.to_string(), Value::Int(parent));
            orm.write_internal(conn, comodel, ids, &vals)
        };
        for command in commands {
            let parts = command.as_list().ok_or_else(bad)?;
            let code = parts.first().and_then(Value::as_i64).ok_or_else(bad)?;
            let target = parts.get(1).and_then(Value::as_i64);
            match code {
                0 => {
                    let Some(Value::Map(vals)) = parts.get(2) else {
                        return Err(bad());
                    };
                    let mut vals = vals.clone();
                    vals.insert(inverse.to_string(), Value::Int(parent));
                    self.create(conn, comodel, &vals)?;
                }
                1 => {
                    let (Some(id), Some(Value::Map(vals))) = (target, parts.get(2)) else {
                        return Err(bad());
                    };
                    self.write(conn, comodel, &[id], vals)?;
                }
                2 | 3 => {
                    // The inverse of every one2many here is required, so cutting the link deletes the row.
                    let id = target.ok_or_else(bad)?;
                    self.ensure_visible(conn, comodel, &[id])?;
                    self.unlink(conn, comodel, &[id])?;
                }
                4 => {
                    let id = target.ok_or_else(bad)?;
                    self.ensure_visible(conn, comodel, &[id])?;
                    link(self, conn, &[id])?;
                }
                5 => {
                    let ids = children(self, conn)?;
                    self.unlink(conn, comodel, &ids)?;
                }
                6 => {
                    let wanted = id_list(parts.get(2).ok_or_else(bad)?)?;
                    self.ensure_visible(conn, comodel, &wanted)?;
                    let current = children(self, conn)?;
                    let dropped: Vec<i64> = current.iter().copied().filter(|i| !wanted.contains(i)).collect();
                    self.unlink(conn, comodel, &dropped)?;
                    link(self, conn, &wanted)?;
                }
                _ => return Err(bad()),
            }
        }
        Ok(())
    }

    /// A write by the bridge itself: readonly fields allowed, still scoped and type-checked.
    pub fn write_internal(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        ids: &[i64],
        vals: &BTreeMap<String, Value>,
    ) -> Result<()> {
        if ids.is_empty() || vals.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(self.backend);
        sql.push(&format!("UPDATE {} SET ", model.table));
        for (i, (name, value)) in vals.iter().enumerate() {
            let field = model
                .field(name)
                .filter(|f| f.is_stored() && f.name != "id")
                .ok_or_else(|| invalid_field(model, name))?;
            let v = coerce_for_write(model.name, field, value)?;
            self.check_reference(conn, field, &v)?;
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{} = ", field.name));
            sql.bind(v);
        }
        sql.push(&format!(" WHERE id IN ({})", join_ids(ids)));
        self.push_scope(model, model.table, &mut sql);
        sql.execute(conn)?;
        Ok(())
    }
}
