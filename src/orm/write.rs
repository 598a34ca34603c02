//! Writing: `create`, `write`, `unlink` with their checks (access, read-only and required fields, the
//! caller's company, visible references), x2many commands, defaults, and the bridge's own internal writes.

use std::collections::BTreeMap;

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::access::{check_access, Operation};
use crate::orm::args::{invalid_field, Env};
use crate::orm::convert::{coerce_for_write, id_list};
use crate::orm::domain::operand::like_text;
use crate::orm::model::{CompanyScope, Default, Field, FieldType, Model};
use crate::orm::read::Orm;
use crate::orm::sql::{Sql, SqlValue};
use crate::types::time::now_string;
use crate::types::Value;

/// Most records one call may create through x2many (0, 0, vals) commands, over all its parents: a write of
/// (0, 0, …) × 30 to 30,000 records (900,000 rows) used to hold SQLite's write lock for over a minute,
/// while other companies' writes failed with "database is locked".
pub const MAX_X2MANY_CREATES: usize = 10_000;

/// Odoo's text for the NOT NULL constraint PostgreSQL enforces on a required field.
fn mandatory_field_missing(model: &Model, field: &Field) -> Error {
    Error::validation(format!(
        "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model \
         requires the record being deleted. If possible, archive it instead.\n\nModel: {} ({})\nField: {} ({})",
        model.description, model.name, field.string, field.name
    ))
}

pub(crate) fn default_value(field: &Field, env: &Env) -> Option<Value> {
    match field.default {
        Default::None => None,
        Default::Bool(b) => Some(Value::Bool(b)),
        Default::Str(s) => Some(Value::str(s)),
        Default::Int(i) => Some(Value::Int(i)),
        Default::Float(f) => Some(Value::Float(f)),
        Default::UserCompany => Some(Value::Int(env.company_id)),
        Default::Now => Some(Value::str(now_string())),
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
            // Odoo's text for the foreign key PostgreSQL refuses; another company's record reads as missing.
            return Err(Error::validation(
                "The operation cannot be completed: another model requires the record being deleted. If possible, \
                 archive it instead.",
            ));
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
            // Odoo ignores these two (magic fields).
            if field.name == "id" || field.name == "display_name" {
                continue;
            }
            if field.name == "company_id" && model.scope == CompanyScope::CompanyField {
                if value.as_i64() == Some(self.env.company_id) || value.is_null() && !creating {
                    if value.is_null() {
                        return Err(Error::validation("company_id is required."));
                    }
                    continue;
                }
                // Odoo's record rule refuses creating a record in another company; moving one there by a
                // write, which Odoo lets through, is refused alike (it would plant data in another tenant).
                let operation = if creating { Operation::Create } else { Operation::Write };
                return Err(self.rule_error(conn, model, operation));
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
            // On `write` Odoo keeps an id as a many2one's value and turns anything else (a name, a list, a
            // float) into no value, which a required field then refuses; `create` passes it to PostgreSQL.
            let no_value = Value::Nil;
            let value = match (field.ftype, value) {
                (FieldType::Many2one(_), Value::Int(_)) => value,
                (FieldType::Many2one(_), _) if !creating => &no_value,
                _ => value,
            };
            let sql_value = coerce_for_write(model.name, field, value)?;
            if field.required && matches!(sql_value, SqlValue::Null(_)) {
                return Err(mandatory_field_missing(model, field));
            }
            self.check_reference(conn, field, &sql_value)?;
            columns.push((field.name, sql_value));
        }
        Ok((columns, commands))
    }

    pub fn create(&self, conn: &mut AnyConnection, model: &Model, vals: &BTreeMap<String, Value>) -> Result<i64> {
        check_access(model, Operation::Create)?;
        let (columns, commands) = self.new_record_columns(conn, model, vals, None)?;
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
        let mut budget = MAX_X2MANY_CREATES;
        for (field, value) in commands {
            self.apply_commands(conn, model, field, &[id], value, &mut budget)?;
        }
        Ok(id)
    }

    /// The columns of a new `model` record from `vals` (checked) and defaults, and its one2many commands.
    /// `inverse`: the column a set-based x2many create fills per parent, left out here.
    #[allow(clippy::type_complexity)]
    fn new_record_columns<'m, 'v>(
        &self,
        conn: &mut AnyConnection,
        model: &'m Model,
        vals: &'v BTreeMap<String, Value>,
        inverse: Option<&str>,
    ) -> Result<(Vec<(&'static str, SqlValue)>, Vec<(&'m Field, &'v Value)>)> {
        let (mut columns, commands) = self.prepare_values(conn, model, vals, true)?;
        for field in model.fields.iter().filter(|f| f.is_stored()) {
            if columns.iter().any(|(n, _)| *n == field.name) || Some(field.name) == inverse {
                continue;
            }
            let value = match (field.name, model.scope) {
                ("company_id", CompanyScope::CompanyField) => Some(SqlValue::Int(self.env.company_id)),
                ("create_date" | "write_date", _) => Some(SqlValue::Text(now_string())),
                _ => default_value(field, self.env).map(|v| coerce_for_write(model.name, field, &v)).transpose()?,
            };
            match value {
                Some(v) => columns.push((field.name, v)),
                None if field.required => return Err(mandatory_field_missing(model, field)),
                None => {}
            }
        }
        Ok((columns, commands))
    }

    /// (0, 0, vals) on every parent at once: the values checked once, then one `INSERT … SELECT` per
    /// chunk of parents (each new row pointing at its parent), and nested commands set-based on the new
    /// rows. Counts against the call's `budget` before anything is written.
    #[allow(clippy::too_many_arguments)]
    fn create_children(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        field: &Field,
        comodel: &Model,
        inverse: &str,
        parents: &[i64],
        vals: &BTreeMap<String, Value>,
        budget: &mut usize,
    ) -> Result<()> {
        check_access(comodel, Operation::Create)?;
        if parents.len() > *budget {
            return Err(Error::user(format!(
                "This call would create more than {MAX_X2MANY_CREATES} {} records through {}.{} ({} at this step): \
                 the bridge creates at most {MAX_X2MANY_CREATES} records per call, so that one company's write \
                 cannot hold the database for long. Split it into smaller calls.",
                comodel.description,
                model.name,
                field.name,
                parents.len()
            )));
        }
        *budget -= parents.len();
        let mut vals = vals.clone();
        // As in Odoo, the parent is the record the command is applied to, whatever the values say.
        vals.remove(inverse);
        let (columns, commands) = self.new_record_columns(conn, comodel, &vals, Some(inverse))?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).chain([inverse]).collect();
        let mut created = Vec::with_capacity(parents.len());
        for chunk in parents.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("INSERT INTO {} ({}) SELECT ", comodel.table, names.join(", ")));
            for (_, v) in &columns {
                sql.bind(v.clone());
                sql.push(", ");
            }
            sql.push(&format!("p.id FROM {} p WHERE ", model.table));
            sql.push_id_in("p.id", chunk);
            sql.push(" ORDER BY p.id RETURNING id");
            created.extend(sql.load_ids(conn)?);
        }
        for (field, value) in commands {
            self.apply_commands(conn, comodel, field, &created, value, budget)?;
        }
        Ok(())
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
        // Another company's records are an access error, records that are gone a missing error.
        self.check_rules(conn, model, ids, Operation::Write)?;
        let (mut columns, commands) = self.prepare_values(conn, model, vals, false)?;
        let visible: std::collections::HashSet<i64> = self.visible_ids(conn, model, ids)?.into_iter().collect();
        let ids = ids.iter().copied().filter(|id| visible.contains(id)).collect::<Vec<_>>();
        let ids = ids.as_slice();
        if ids.is_empty() {
            return Ok(());
        }
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
            sql.push(" WHERE ");
            sql.push_id_in("id", ids);
            sql.execute(conn)?;
        }
        let mut budget = MAX_X2MANY_CREATES;
        for (field, value) in commands {
            self.apply_commands(conn, model, field, ids, value, &mut budget)?;
        }
        Ok(())
    }

    pub fn unlink(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<()> {
        check_access(model, Operation::Unlink)?;
        // Another company's records are an access error, records that are gone a missing error (for models
        // without a company, ids that are gone are ignored, as in Odoo).
        self.check_rules(conn, model, ids, Operation::Unlink)?;
        let visible = self.visible_ids(conn, model, ids)?;
        for chunk in visible.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("DELETE FROM {} WHERE ", model.table));
            sql.push_id_in("id", chunk);
            sql.execute(conn)?;
        }
        Ok(())
    }

    /// Odoo's x2many commands on the one2many `field` of every record of `parents`: (0,0,vals) (1,id,vals)
    /// (2,id) (3,id) (4,id) (5,) (6,0,ids), a plain id list meaning (6,0,ids) and False meaning (5,).
    /// Set-based: each command is one statement per chunk of ids however many parents there are (a large
    /// write used to run every command record by record while holding the write lock), and the records a
    /// call creates are bounded by `budget` (`MAX_X2MANY_CREATES` per call). As in Odoo, missing ids are
    /// skipped and commands it does not know are ignored.
    fn apply_commands(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        field: &Field,
        parents: &[i64],
        value: &Value,
        budget: &mut usize,
    ) -> Result<()> {
        let FieldType::One2many(comodel, inverse) = field.ftype else {
            return Ok(());
        };
        let comodel = self.registry.model(comodel)?;
        let Some(&last_parent) = parents.last() else {
            return Ok(());
        };
        let bad = || Error::application(format!("Wrong value for {}.{}: {}", model.name, field.name, like_text(value)));
        let shorthand;
        let commands: &[Value] = match value {
            v if v.is_null() => {
                shorthand = [Value::List(vec![Value::Int(5)])];
                &shorthand
            }
            Value::List(items) if !items.is_empty() && items.iter().all(|i| i.as_i64().is_some()) => {
                shorthand = [Value::List(vec![Value::Int(6), Value::Int(0), value.clone()])];
                &shorthand
            }
            Value::List(items) => items,
            _ => return Err(bad()),
        };
        for command in commands {
            let parts = command.as_list().ok_or_else(bad)?;
            let target = parts.get(1).and_then(Value::as_i64);
            match parts.first().and_then(Value::as_i64) {
                Some(0) => {
                    let Some(Value::Map(vals)) = parts.get(2) else {
                        return Err(bad());
                    };
                    self.create_children(conn, model, field, comodel, inverse, parents, vals, budget)?;
                }
                Some(1) => {
                    let (Some(id), Some(Value::Map(vals))) = (target, parts.get(2)) else {
                        return Err(bad());
                    };
                    self.write(conn, comodel, &[id], vals)?;
                }
                // The inverse of every one2many here is required, so cutting the link deletes the row.
                Some(2 | 3) => self.unlink(conn, comodel, &[target.ok_or_else(bad)?])?,
                Some(4) => {
                    // Odoo reads the record it links first: another company's is refused for reading.
                    let id = target.ok_or_else(bad)?;
                    self.check_rules(conn, comodel, &[id], Operation::Read)?;
                    self.relink(conn, comodel, inverse, last_parent, &[id])?
                }
                Some(5) => self.delete_children(conn, comodel, inverse, parents, &[])?,
                Some(6) => {
                    let wanted = id_list(parts.get(2).ok_or_else(bad)?)?;
                    self.delete_children(conn, comodel, inverse, parents, &wanted)?;
                    self.relink(conn, comodel, inverse, last_parent, &wanted)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Deletes the `comodel` records of `parents`, except `keep`: one statement per chunk of parents.
    fn delete_children(
        &self,
        conn: &mut AnyConnection,
        comodel: &Model,
        inverse: &str,
        parents: &[i64],
        keep: &[i64],
    ) -> Result<()> {
        check_access(comodel, Operation::Unlink)?;
        for chunk in parents.chunks(10_000) {
            let mut sql = Sql::new(self.backend);
            sql.push(&format!("DELETE FROM {} WHERE ", comodel.table));
            sql.push_id_in(inverse, chunk);
            if !keep.is_empty() {
                sql.push(" AND ");
                sql.push_id_not_in("id", keep);
            }
            self.push_scope(comodel, comodel.table, &mut sql);
            sql.execute(conn)?;
        }
        Ok(())
    }

    /// Points the `comodel` records `ids` (the caller's; missing ones skipped) at `parent`: one statement.
    fn relink(&self, conn: &mut AnyConnection, comodel: &Model, inverse: &str, parent: i64, ids: &[i64]) -> Result<()> {
        check_access(comodel, Operation::Write)?;
        self.check_rules(conn, comodel, ids, Operation::Write)?;
        let mut vals = BTreeMap::new();
        vals.insert(inverse.to_string(), Value::Int(parent));
        self.write_internal(conn, comodel, ids, &vals)
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
        sql.push(" WHERE ");
        sql.push_id_in("id", ids);
        self.push_scope(model, model.table, &mut sql);
        sql.execute(conn)?;
        Ok(())
    }
}
