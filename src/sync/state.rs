//! The sync engine's own types: what an attempt's return URL was issued for, and how times are stored
//! and shown to people. Link states and transaction statuses are the shared `types::state` enums.

use chrono::{DateTime, Utc};

pub use crate::types::{LinkState, TransactionStatus};

/// What a connect/reconnect/refresh return URL was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    Connect,
    Reconnect,
    Refresh,
}

impl AttemptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptKind::Connect => "connect",
            AttemptKind::Reconnect => "reconnect",
            AttemptKind::Refresh => "refresh",
        }
    }

    pub fn parse(text: &str) -> Option<AttemptKind> {
        [AttemptKind::Connect, AttemptKind::Reconnect, AttemptKind::Refresh].into_iter().find(|k| k.as_str() == text)
    }
}

/// The one storage format of the bridge's timestamps (`YYYY-MM-DD HH:MM:SS`, UTC), as Odoo's datetimes.
pub fn db_time(at: DateTime<Utc>) -> String {
    at.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Parses a stored timestamp back.
pub fn parse_db_time(text: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok().map(|t| t.and_utc())
}

/// A time as a person reads it: "27 Nov 2026 at 13:25 UTC" (never a raw `…T13:25:40Z`).
pub fn human_time(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y at %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_time_has_no_iso_t() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T13:25:40Z").unwrap().with_timezone(&Utc);
        assert_eq!(human_time(at), "27 Nov 2026 at 13:25 UTC");
        assert_eq!(parse_db_time(&db_time(at)).map(|t| t.timestamp()), Some(at.timestamp()));
    }
}
