//! A row that must still exist, with these values, for a read's answer to stand: checked inside the read's
//! own statement. The caller's user row, as its secret was last verified, is the one use: the credential
//! check then costs no statement of its own (on PostgreSQL a round trip).

/// `SELECT 1 FROM <table> WHERE <column> = <value> AND … AND <flag> = TRUE AND …` must find a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowGuard {
    pub table: &'static str,
    pub equal: Vec<(&'static str, i64)>,
    pub true_columns: Vec<&'static str>,
}

/// What the read learned of its guard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GuardSeen {
    /// Not checked: no statement carried it (another method, or no row came back to carry it).
    #[default]
    NotChecked,
    /// The row exists as described: the answer stands.
    Held,
    /// The row is gone or changed: the answer must not be used.
    Failed,
}
