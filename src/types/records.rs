//! Records as `read` returns them (a list of structs on the wire), held so that reading thousands of them
//! copies nothing that more than one member or record share: the member names once, a display name as
//! the name member it repeats, a many2one's `[id, display name]` pair once per related record.

use crate::types::Value;

/// Records whose members are the same names in the same order (Odoo's: `id`, then the fields as
/// requested), names that come from the model registry. Each record's own values reuse the buffer its row
/// was read into; `Member` says where each member's value is.
#[derive(Clone, Debug)]
pub struct Records {
    names: Vec<&'static str>,
    /// Per member, where its value is; the pairs of `Member::Related` members are in `pairs`.
    kinds: Vec<Kind>,
    pairs: Vec<Vec<(i64, Value)>>,
    rows: Vec<Vec<Value>>,
}

/// `Member` without its pairs: small and `Copy`, looked at for every value written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Own,
    DisplayNameOf(usize),
    Related(usize),
}

/// Where the value of one member of every record is.
#[derive(Clone, Debug, PartialEq)]
pub enum Member {
    /// In the record's row.
    Own,
    /// The display name Odoo derives from a text member: the value of member `k` of the same record when
    /// it is a non-empty text, `False` otherwise. The row holds nothing for it (`Nil`).
    DisplayNameOf(usize),
    /// A many2one: the row holds the related id, or `False`; the member's value is the `[id, display name]`
    /// pair of that id in this list (sorted by id), shared by every record that refers to it.
    Related(Vec<(i64, Value)>),
}

const FALSE: Value = Value::Bool(false);

impl Records {
    /// Records whose every member is in its row: `rows` hold one value per name, in the names' order.
    pub fn new(names: Vec<&'static str>, rows: Vec<Vec<Value>>) -> Records {
        let members = vec![Member::Own; names.len()];
        Records::with_members(names, members, rows)
    }

    /// Records whose members are found as `members` say (one per name); each row holds one value per name.
    pub fn with_members(names: Vec<&'static str>, members: Vec<Member>, rows: Vec<Vec<Value>>) -> Records {
        debug_assert_eq!(names.len(), members.len());
        debug_assert!(rows.iter().all(|row| row.len() == names.len()));
        debug_assert!(members.iter().all(|m| match m {
            Member::DisplayNameOf(k) => members.get(*k) == Some(&Member::Own),
            Member::Related(pairs) => pairs.windows(2).all(|w| w[0].0 < w[1].0),
            Member::Own => true,
        }));
        let mut pairs = Vec::new();
        let kinds = members
            .into_iter()
            .map(|member| match member {
                Member::Own => Kind::Own,
                Member::DisplayNameOf(k) => Kind::DisplayNameOf(k),
                Member::Related(related) => {
                    pairs.push(related);
                    Kind::Related(pairs.len() - 1)
                }
            })
            .collect();
        Records { names, kinds, pairs, rows }
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each record's values, in the names' order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = impl Iterator<Item = &Value> + '_> + '_ {
        self.rows
            .iter()
            .map(move |row| self.kinds.iter().zip(row).map(move |(kind, own)| self.resolve(*kind, row, own)))
    }

    /// Each record as a struct (`Value::Map`), for code that wants to look members up by name.
    pub fn into_maps(self) -> Vec<Value> {
        self.into_values()
            .map(|values| Value::Map(values.into_iter().map(|(name, value)| (name.to_string(), value)).collect()))
            .collect()
    }

    /// Each record's `(name, value)` pairs, owned: own values moved, shared ones copied.
    pub fn into_values(mut self) -> impl Iterator<Item = Vec<(&'static str, Value)>> {
        let rows = std::mem::take(&mut self.rows);
        rows.into_iter().map(move |mut row| {
            // Shared values first, while the members they repeat are still in the row.
            let shared: Vec<Option<Value>> = (self.kinds.iter().zip(&row))
                .map(|(kind, own)| (*kind != Kind::Own).then(|| self.resolve(*kind, &row, own).clone()))
                .collect();
            self.names
                .iter()
                .zip(shared)
                .zip(row.iter_mut())
                .map(|((name, shared), own)| (*name, shared.unwrap_or_else(|| std::mem::replace(own, Value::Nil))))
                .collect()
        })
    }

    /// The value of a member of `row` whose own cell is `own`.
    #[inline]
    fn resolve<'a>(&'a self, kind: Kind, row: &'a [Value], own: &'a Value) -> &'a Value {
        match kind {
            Kind::Own => own,
            Kind::DisplayNameOf(k) => match row.get(k) {
                Some(name @ Value::Str(text)) if !text.is_empty() => name,
                _ => &FALSE,
            },
            Kind::Related(table) => match own {
                Value::Int(id) => {
                    let pairs = &self.pairs[table];
                    match pairs.binary_search_by_key(id, |(key, _)| *key) {
                        Ok(at) => &pairs[at].1,
                        Err(_) => own,
                    }
                }
                _ => own,
            },
        }
    }
}

/// Two answers are equal when they say the same, however their shared values are held.
impl PartialEq for Records {
    fn eq(&self, other: &Records) -> bool {
        self.names == other.names && self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.eq(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: i64, name: &str) -> Value {
        Value::List(vec![Value::Int(id), Value::str(name)])
    }

    #[test]
    fn shared_members_read_as_the_values_they_stand_for() {
        let records = Records::with_members(
            vec!["id", "name", "link_id", "display_name"],
            vec![Member::Own, Member::Own, Member::Related(vec![(7, pair(7, "Bank"))]), Member::DisplayNameOf(1)],
            vec![
                vec![Value::Int(1), Value::str("Checking"), Value::Int(7), Value::Nil],
                vec![Value::Int(2), Value::str(""), Value::Bool(false), Value::Nil],
                vec![Value::Int(3), Value::Bool(false), Value::Int(7), Value::Nil],
            ],
        );
        let plain = Records::new(
            vec!["id", "name", "link_id", "display_name"],
            vec![
                vec![Value::Int(1), Value::str("Checking"), pair(7, "Bank"), Value::str("Checking")],
                vec![Value::Int(2), Value::str(""), Value::Bool(false), Value::Bool(false)],
                vec![Value::Int(3), Value::Bool(false), pair(7, "Bank"), Value::Bool(false)],
            ],
        );
        assert_eq!(records, plain);
        assert_eq!(records.clone().into_maps(), plain.clone().into_maps());
        assert_eq!(Value::records(records).into_json(), Value::records(plain).into_json());
    }
}
