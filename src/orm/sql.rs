//! A small SQL builder for the generic ORM: text assembled from registry names only, every client value
//! bound as a parameter, placeholders written per dialect, and the few typed loaders the ORM needs.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};

use crate::db::{AnyConnection, Backend, MultiBackend};
use crate::error::Result;
use crate::types::Value;

/// A bound parameter. `Null` carries its SQL type: PostgreSQL rejects untyped NULLs in some positions.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
pub enum SqlValue {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Null(SqlKind),
}

#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub enum SqlKind {
    Int,
    Float,
    Text,
    Bool,
}

impl SqlValue {
    pub fn as_text(&self) -> String {
        match self {
            SqlValue::Int(i) => i.to_string(),
            SqlValue::Float(f) => f.to_string(),
            SqlValue::Text(s) => s.clone(),
            SqlValue::Bool(b) => b.to_string(),
            SqlValue::Null(_) => String::new(),
        }
    }
}

pub struct Sql {
    backend: Backend,
    text: String,
    binds: Vec<SqlValue>,
    aliases: usize,
}

impl Sql {
    pub fn new(backend: Backend) -> Sql {
        Sql { backend, text: String::with_capacity(256), binds: Vec::new(), aliases: 0 }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn push(&mut self, fragment: &str) {
        self.text.push_str(fragment);
    }

    pub fn bind(&mut self, value: SqlValue) {
        self.binds.push(value);
        match self.backend {
            Backend::Sqlite => self.text.push('?'),
            Backend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.binds.len().to_string());
            }
        }
    }

    /// A fresh table alias for a subquery.
    pub fn next_alias(&mut self) -> String {
        self.aliases += 1;
        format!("s{}", self.aliases)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    fn into_query(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery> {
        let mut query = diesel::sql_query(self.text).into_boxed::<MultiBackend>();
        for value in self.binds {
            query = match value {
                SqlValue::Int(i) => query.bind::<BigInt, _>(i),
                SqlValue::Float(f) => query.bind::<Double, _>(f),
                SqlValue::Text(s) => query.bind::<Text, _>(s),
                SqlValue::Bool(b) => query.bind::<Bool, _>(b),
                SqlValue::Null(SqlKind::Int) => query.bind::<Nullable<BigInt>, _>(None::<i64>),
                SqlValue::Null(SqlKind::Float) => query.bind::<Nullable<Double>, _>(None::<f64>),
                SqlValue::Null(SqlKind::Text) => query.bind::<Nullable<Text>, _>(None::<String>),
                SqlValue::Null(SqlKind::Bool) => query.bind::<Nullable<Bool>, _>(None::<bool>),
            };
        }
        query
    }

    pub fn execute(self, conn: &mut AnyConnection) -> Result<usize> {
        Ok(self.into_query().execute(conn)?)
    }

    pub fn load_ids(self, conn: &mut AnyConnection) -> Result<Vec<i64>> {
        #[derive(QueryableByName)]
        struct IdRow {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        Ok(self.into_query().load::<IdRow>(conn)?.into_iter().map(|r| r.id).collect())
    }

    pub fn load_count(self, conn: &mut AnyConnection) -> Result<i64> {
        #[derive(QueryableByName)]
        struct CountRow {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        Ok(self.into_query().load::<CountRow>(conn)?.first().map_or(0, |r| r.n))
    }

    /// Rows selected as one JSON array each (see `json_row`), decoded into their cells.
    pub fn load_rows(self, conn: &mut AnyConnection) -> Result<Vec<Vec<Value>>> {
        /// Decoded while diesel reads the row, so the JSON text is never kept.
        struct JsonRow(Vec<Value>);
        impl QueryableByName<MultiBackend> for JsonRow {
            fn build<'a>(row: &impl diesel::row::NamedRow<'a, MultiBackend>) -> diesel::deserialize::Result<Self> {
                let text: String = diesel::row::NamedRow::get::<Text, String>(row, "row")?;
                Ok(JsonRow(serde_json::from_str(&text)?))
            }
        }
        Ok(self.into_query().load::<JsonRow>(conn)?.into_iter().map(|r| r.0).collect())
    }

    /// `(id, text)` pairs, e.g. display names of related records.
    pub fn load_id_texts(self, conn: &mut AnyConnection) -> Result<Vec<(i64, Option<String>)>> {
        #[derive(QueryableByName)]
        struct IdText {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Nullable<Text>)]
            label: Option<String>,
        }
        Ok(self.into_query().load::<IdText>(conn)?.into_iter().map(|r| (r.id, r.label)).collect())
    }
}

/// A select-list expression turning the given columns into one JSON array per row, so a single generic
/// row type serves every model (the registry knows each column's type and decodes it).
pub fn json_row(backend: Backend, alias: &str, columns: &[&str]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| format!("{alias}.{c}")).collect();
    match backend {
        Backend::Sqlite => format!("json_array({}) AS row", cols.join(", ")),
        Backend::Postgres => format!("json_build_array({})::text AS row", cols.join(", ")),
    }
}
