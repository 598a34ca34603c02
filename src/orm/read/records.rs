//! Records out of stored rows: many2one pairs and display names, one2many ids, each fetched once per
//! field for all rows.

use std::collections::HashMap;

use compact_str::ToCompactString;

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::args::invalid_field;
use crate::orm::convert::read_cell;
use crate::orm::model::{Field, FieldType, Model};
use crate::orm::sql::Sql;
use crate::types::{Member, Records, Value};

use super::{Orm, IDS_PER_STATEMENT};

impl Orm<'_> {
    /// Builds the records of stored rows (cells in `columns` order, id first), each in its row's own
    /// buffer: related display names and one2many ids are fetched once per field for all rows. Nothing two
    /// members or records share is copied per record (`Member`): a display name is the name member it
    /// repeats, and a many2one's `[id, name]` pair is built once per related record.
    pub(super) fn records(
        &self,
        conn: &mut AnyConnection,
        model: &Model,
        mut rows: Vec<Vec<Value>>,
        columns: &[&str],
        fields: &[&Field],
        classic: bool,
    ) -> Result<Records> {
        // `id` always comes first, once, whether or not it was asked for.
        let fields: Vec<&Field> = fields.iter().copied().filter(|f| f.name != "id").collect();
        let names: Vec<&'static str> = std::iter::once("id").chain(fields.iter().map(|f| f.name)).collect();
        if rows.is_empty() {
            return Ok(Records::new(names, rows));
        }
        let row_id = |row: &Vec<Value>| row.first().and_then(Value::as_i64).unwrap_or(0);
        let column = |name: &str| columns.iter().position(|c| *c == name);
        let rec_name_idx = column(model.rec_name);

        /// How each requested field is filled, worked out once for all rows.
        enum Source<'f> {
            /// The display name, moved out of the name cell (the name field is not requested, or its text
            /// is not the display name as it stands).
            DisplayName,
            /// The display name as the requested name member: nothing in the row.
            NameMember,
            Children(HashMap<i64, Vec<i64>>),
            /// A many2one's related id; its pair is in the member.
            RelatedId(usize),
            Cell(usize, &'f Field),
        }
        let text_rec_name =
            model.field(model.rec_name).is_some_and(|f| matches!(f.ftype, FieldType::Char | FieldType::Text));
        // The member (1 + position among `fields`) holding the name cell as it is, when requested.
        let name_member = fields
            .iter()
            .position(|f| Some(f.name) == Some(model.rec_name) && f.is_stored())
            .filter(|_| text_rec_name)
            .map(|at| at + 1);
        let mut members = vec![Member::Own];
        let mut sources = Vec::with_capacity(fields.len());
        // Per many2one member: its comodel and the ids the rows refer to, sorted, each once.
        let mut related: Vec<(usize, &Model, Vec<i64>)> = Vec::new();
        for field in &fields {
            let (source, member) = match field.ftype {
                _ if field.name == "display_name" => match name_member {
                    Some(k) => (Source::NameMember, Member::DisplayNameOf(k)),
                    None => (Source::DisplayName, Member::Own),
                },
                FieldType::One2many(comodel, inverse) => {
                    let parent_ids: Vec<i64> = rows.iter().map(row_id).collect();
                    let children = self.child_ids(conn, self.registry.model(comodel)?, inverse, &parent_ids)?;
                    (Source::Children(children), Member::Own)
                }
                FieldType::Many2one(comodel) if classic => {
                    let idx = column(field.name).ok_or_else(|| invalid_field(model, field.name))?;
                    let mut ref_ids: Vec<i64> =
                        rows.iter().filter_map(|r| r.get(idx).and_then(Value::as_i64)).collect();
                    ref_ids.sort_unstable();
                    ref_ids.dedup();
                    // Its pairs come below, with every other many2one's, from one statement.
                    related.push((members.len(), self.registry.model(comodel)?, ref_ids));
                    (Source::RelatedId(idx), Member::Related(Vec::new()))
                }
                _ => {
                    let idx = column(field.name).ok_or_else(|| invalid_field(model, field.name))?;
                    (Source::Cell(idx, field), Member::Own)
                }
            };
            sources.push(source);
            members.push(member);
        }
        let parts: Vec<(&Model, &[i64])> = related.iter().map(|(_, comodel, ids)| (*comodel, ids.as_slice())).collect();
        for ((at, _, ids), names) in related.iter().zip(self.display_names_of(conn, &parts)?) {
            members[*at] = Member::Related(names.into_pairs(ids));
        }

        // A display name that is not the name member moves out of the name cell, unless the name field is
        // requested too (a name that is not text): then it is copied, before that field takes the cell.
        let display_member = sources.iter().any(|s| matches!(s, Source::DisplayName));
        let name_requested = fields.iter().any(|f| f.name == model.rec_name);
        let take = |cells: &mut Vec<Value>, idx: usize| {
            cells.get_mut(idx).map_or(Value::Nil, |c| std::mem::replace(c, Value::Nil))
        };
        // Each row's cells move to `cells` while the record is written into the row's own buffer; the two
        // buffers trade places at every row, so no record allocates.
        let mut cells: Vec<Value> = Vec::with_capacity(names.len().max(columns.len()));
        for record in &mut rows {
            std::mem::swap(record, &mut cells);
            record.clear();
            record.reserve(names.len());
            let id = row_id(&cells);
            record.push(Value::Int(id));
            let mut name = match rec_name_idx.filter(|_| display_member) {
                Some(idx) if name_requested => Some(display_name(cells[idx].clone())),
                Some(idx) => Some(display_name(take(&mut cells, idx))),
                None => None,
            };
            for source in &sources {
                let value = match source {
                    Source::DisplayName => name.take().unwrap_or(Value::Bool(false)),
                    Source::NameMember => Value::Nil,
                    Source::Children(children) => Value::List(
                        children.get(&id).map_or_else(Vec::new, |c| c.iter().copied().map(Value::Int).collect()),
                    ),
                    Source::RelatedId(idx) => match cells.get(*idx).and_then(Value::as_i64) {
                        Some(ref_id) => Value::Int(ref_id),
                        None => Value::Bool(false),
                    },
                    Source::Cell(idx, field) => read_cell(field.ftype, take(&mut cells, *idx)),
                };
                record.push(value);
            }
            cells.clear();
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
