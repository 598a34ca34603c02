//! Records out of stored rows: many2one pairs and display names, one2many ids, each fetched once per
//! field for all rows.

use std::collections::HashMap;

use compact_str::ToCompactString;

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::convert::read_cell_in_place;
use crate::orm::model::{Field, FieldType, Model};
use crate::orm::registry::Registry;
use crate::orm::sql::Sql;
use crate::types::{Member, Records, Value};

use super::{Orm, IDS_PER_STATEMENT};

/// How a read selects its rows so that each row is its record: one select item per member, in the members'
/// order (`id`, then the fields as requested), and what each cell still needs to become Odoo's value. Rows
/// then become records in place: no cell moves from a row buffer into a record's.
pub(super) struct Layout<'r> {
    names: Vec<&'static str>,
    members: Vec<Member>,
    cells: Vec<Cell<'r>>,
    select: String,
}

/// What the cell of one member holds when its row arrives, and what it needs.
enum Cell<'r> {
    /// The record's id.
    Id,
    /// A stored field's value, converted for its type (`read_cell_in_place`).
    Stored(FieldType),
    /// A many2one's related id, or False; its `[id, name]` pair is in the member, shared by every record.
    Related(&'r Model),
    /// The display name, selected from the name column (or `NULL` when the model stores none).
    DisplayName,
    /// The display name as the requested name member (`Member::DisplayNameOf`): `NULL` in the row.
    NameMember,
    /// A one2many's ids, filled after the rows arrive: `NULL` until then.
    Children(&'r Model, &'static str),
}

impl<'r> Layout<'r> {
    /// The layout of a read of `fields` of `model`; `classic` many2ones read as `[id, name]` pairs.
    pub(super) fn new(registry: &'r Registry, model: &Model, fields: &[&Field], classic: bool) -> Result<Layout<'r>> {
        // `id` always comes first, once, whether or not it was asked for.
        let fields: Vec<&Field> = fields.iter().copied().filter(|f| f.name != "id").collect();
        let names: Vec<&'static str> = std::iter::once("id").chain(fields.iter().map(|f| f.name)).collect();
        let text_rec_name =
            model.field(model.rec_name).is_some_and(|f| matches!(f.ftype, FieldType::Char | FieldType::Text));
        let stored_rec_name = model.columns().any(|c| c.name == model.rec_name);
        // The member (1 + position among `fields`) holding the name cell as it is, when requested.
        let name_member = fields
            .iter()
            .position(|f| Some(f.name) == Some(model.rec_name) && f.is_stored())
            .filter(|_| text_rec_name)
            .map(|at| at + 1);
        let mut members = vec![Member::Own];
        let mut cells = vec![Cell::Id];
        let mut select = String::from("t.id");
        for field in &fields {
            let (cell, member, item) = match field.ftype {
                _ if field.name == "display_name" => match name_member {
                    Some(k) => (Cell::NameMember, Member::DisplayNameOf(k), None),
                    None => (Cell::DisplayName, Member::Own, stored_rec_name.then_some(model.rec_name)),
                },
                FieldType::One2many(comodel, inverse) => {
                    (Cell::Children(registry.model(comodel)?, inverse), Member::Own, None)
                }
                FieldType::Many2one(comodel) if classic => {
                    (Cell::Related(registry.model(comodel)?), Member::Related(Vec::new()), Some(field.name))
                }
                ftype => (Cell::Stored(ftype), Member::Own, Some(field.name)),
            };
            select.push_str(", ");
            match item {
                Some(column) => {
                    select.push_str("t.");
                    select.push_str(column);
                }
                None => select.push_str("NULL"),
            }
            cells.push(cell);
            members.push(member);
        }
        Ok(Layout { names, members, cells, select })
    }

    /// The select list (table alias `t`), one item per member.
    pub(super) fn select(&self) -> &str {
        &self.select
    }
}

impl Orm<'_> {
    /// Builds the records of rows selected by `layout`: each cell converted where it stands, related display
    /// names and one2many ids fetched once per field for all rows. Nothing two members or records share is
    /// copied per record (`Member`): a display name is the name member it repeats, and a many2one's
    /// `[id, name]` pair is built once per related record.
    pub(super) fn records(
        &self,
        conn: &mut AnyConnection,
        layout: Layout,
        mut rows: Vec<Vec<Value>>,
    ) -> Result<Records> {
        let Layout { names, mut members, cells, .. } = layout;
        if rows.is_empty() {
            return Ok(Records::new(names, rows));
        }
        let converted: Vec<(usize, &Cell)> = cells.iter().enumerate().filter(|(_, c)| c.converts()).collect();
        for row in &mut rows {
            for &(k, cell) in &converted {
                if let Some(value) = row.get_mut(k) {
                    cell.convert(value);
                }
            }
        }
        // Per many2one member: its comodel and the ids the rows refer to, sorted, each once; their pairs
        // come from one statement for all of them.
        let related: Vec<(usize, &Model, Vec<i64>)> = cells
            .iter()
            .enumerate()
            .filter_map(|(k, cell)| match cell {
                Cell::Related(comodel) => {
                    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.get(k).and_then(Value::as_i64)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    Some((k, *comodel, ids))
                }
                _ => None,
            })
            .collect();
        let parts: Vec<(&Model, &[i64])> = related.iter().map(|(_, comodel, ids)| (*comodel, ids.as_slice())).collect();
        for ((k, _, ids), names) in related.iter().zip(self.display_names_of(conn, &parts)?) {
            members[*k] = Member::Related(names.into_pairs(ids));
        }
        // The parents' ids, once for every one2many member.
        let mut parent_ids: Option<Vec<i64>> = None;
        for (k, cell) in cells.iter().enumerate() {
            if let Cell::Children(comodel, inverse) = cell {
                let parent_ids = parent_ids.get_or_insert_with(|| rows.iter().map(|row| row_id(row)).collect());
                let children = self.child_ids(conn, comodel, inverse, parent_ids)?;
                for row in &mut rows {
                    let ids = children
                        .get(&row_id(row))
                        .map_or_else(Vec::new, |c| c.iter().copied().map(Value::Int).collect());
                    if let Some(value) = row.get_mut(k) {
                        *value = Value::List(ids);
                    }
                }
            }
        }
        Ok(Records::with_members(names, members, rows))
    }

    /// The ids of the `comodel` records whose `inverse` points at each parent, in the comodel's order.
    fn child_ids(
        &self,
        conn: &mut AnyConnection,
        comodel: &Model,
        inverse: &str,
        parent_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<i64>>> {
        let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
        for chunk in parent_ids.chunks(IDS_PER_STATEMENT) {
            let mut sql = Sql::new(self.backend);
            let (joins, order) = self.order_clause(comodel, None)?;
            sql.push(&format!(
                "SELECT t.{inverse} AS id, CAST(t.id AS TEXT) AS label FROM {} t{joins} WHERE ",
                comodel.table
            ));
            sql.push_id_in(&format!("t.{inverse}"), chunk);
            sql.push(&format!(" ORDER BY {order}"));
            for (parent, child) in sql.load_id_texts(conn)? {
                if let Some(child) = child {
                    let child = child.parse().map_err(|e| Error::internal("reading one2many ids", e))?;
                    map.entry(parent).or_default().push(child);
                }
            }
        }
        Ok(map)
    }

    fn display_names(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<DisplayNames> {
        let mut unique: Vec<i64> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        Ok(self.display_names_of(conn, &[(model, &unique)])?.pop().unwrap_or(DisplayNames(Vec::new())))
    }

    /// The display names of the records of each part (a model, and ids sorted and each once), read in one
    /// statement for all parts (on PostgreSQL each statement is a round trip) unless they name more ids
    /// than one statement lists.
    pub(super) fn display_names_of(
        &self,
        conn: &mut AnyConnection,
        parts: &[(&Model, &[i64])],
    ) -> Result<Vec<DisplayNames>> {
        let mut out: Vec<Vec<(i64, Value)>> = vec![Vec::new(); parts.len()];
        let mut pieces = parts
            .iter()
            .enumerate()
            .flat_map(|(part, (model, ids))| ids.chunks(IDS_PER_STATEMENT).map(move |chunk| (part, *model, chunk)))
            .peekable();
        while pieces.peek().is_some() {
            let mut sql = Sql::new(self.backend);
            let mut listed = 0;
            while let Some((part, model, chunk)) =
                pieces.next_if(|(_, _, chunk)| listed == 0 || listed + chunk.len() <= IDS_PER_STATEMENT)
            {
                if listed > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push(&format!(
                    "SELECT CAST({part} AS BIGINT) AS part, t.id AS id, CAST(t.{} AS TEXT) AS label FROM {} t WHERE ",
                    model.rec_name, model.table,
                ));
                sql.push_id_in("t.id", chunk);
                listed += chunk.len();
            }
            for (part, id, label) in sql.load_part_id_texts(conn)? {
                let name = label.map_or(Value::Bool(false), |label| display_name(Value::str(label)));
                if let Some(names) = usize::try_from(part).ok().and_then(|part| out.get_mut(part)) {
                    names.push((id, name));
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|mut names| {
                names.sort_unstable_by_key(|(id, _)| *id);
                DisplayNames(names)
            })
            .collect())
    }

    pub(crate) fn name_pairs(&self, conn: &mut AnyConnection, model: &Model, ids: &[i64]) -> Result<Value> {
        let visible = self.visible_ids(conn, model, ids)?;
        let not_found: Vec<i64> = ids.iter().copied().filter(|id| !visible.contains(id)).collect();
        self.check_rules(conn, model, &not_found, crate::orm::access::Operation::Read)?;
        let names = self.display_names(conn, model, &visible)?;
        Ok(Value::List(
            ids.iter().filter_map(|id| names.get(*id).map(|n| Value::List(vec![Value::Int(*id), n.clone()]))).collect(),
        ))
    }
}

/// Display names by id, in id order: looked up once per record and many2one field, where a binary search
/// over the few related ids costs less than hashing.
pub(super) struct DisplayNames(pub(super) Vec<(i64, Value)>);

impl DisplayNames {
    fn get(&self, id: i64) -> Option<&Value> {
        self.0.binary_search_by_key(&id, |(key, _)| *key).ok().map(|at| &self.0[at].1)
    }

    /// The many2one pair `[id, display name]` of each of `ids` (sorted, each once), by id; False for the
    /// name of a record that has none.
    fn into_pairs(self, ids: &[i64]) -> Vec<(i64, Value)> {
        let mut names = self.0.into_iter().peekable();
        ids.iter()
            .map(|&id| {
                while names.next_if(|(key, _)| *key < id).is_some() {}
                let name = names.next_if(|(key, _)| *key == id).map_or(Value::Bool(false), |(_, name)| name);
                (id, Value::List(vec![Value::Int(id), name]))
            })
            .collect()
    }
}

/// A record's display name: its name field as text, or False when that is empty (as Odoo shows it).
fn display_name(cell: Value) -> Value {
    match cell {
        Value::Str(s) if !s.is_empty() => Value::Str(s),
        Value::Int(n) => Value::Str(n.to_compact_string()),
        Value::Float(f) => Value::Str(f.to_compact_string()),
        _ => Value::Bool(false),
    }
}

fn row_id(row: &[Value]) -> i64 {
    row.first().and_then(Value::as_i64).unwrap_or(0)
}

impl Cell<'_> {
    /// Whether the cell may need converting when its row arrives.
    fn converts(&self) -> bool {
        matches!(self, Cell::Stored(_) | Cell::Related(_) | Cell::DisplayName)
    }

    /// The cell's value as Odoo reads it, changed where it stands (most cells already are).
    #[inline]
    fn convert(&self, value: &mut Value) {
        match self {
            Cell::Stored(ftype) => read_cell_in_place(*ftype, value),
            Cell::Related(_) => {
                if !matches!(value, Value::Int(_)) {
                    *value = value.as_i64().map_or(Value::Bool(false), Value::Int);
                }
            }
            Cell::DisplayName => {
                if !matches!(value, Value::Str(s) if !s.is_empty()) {
                    *value = display_name(std::mem::replace(value, Value::Nil));
                }
            }
            Cell::Id | Cell::NameMember | Cell::Children(..) => {}
        }
    }
}
