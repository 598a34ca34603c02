//! The typed states of the sync engine: a link's state, a transaction's status, and where an attempt
//! stands. The database and the wire keep their Odoo spellings (`as_str`).

use chrono::{DateTime, Utc};

/// `account.online.link.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// The connection works; the last attempt (if any) finished.
    Connected,
    /// An attempt (connect, reconnect, refresh, background refresh) runs at Salt Edge, or the bridge
    /// imports what it brought; `sync_progress` says how far it is.
    Fetching,
    /// The user must act (credentials, consent, duplicate): `error_message` says what to do.
    Error,
    /// Never connected, consent revoked, or the connection removed.
    Disconnected,
}

impl LinkState {
    pub const ALL: [LinkState; 4] =
        [LinkState::Connected, LinkState::Fetching, LinkState::Error, LinkState::Disconnected];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connected => "connected",
            LinkState::Fetching => "fetching",
            LinkState::Error => "error",
            LinkState::Disconnected => "disconnected",
        }
    }

    pub fn parse(text: &str) -> Option<LinkState> {
        LinkState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// `account.online.transaction.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionStatus {
    Posted,
    Pending,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Posted => "posted",
            TransactionStatus::Pending => "pending",
        }
    }
}

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
    fn link_states_match_the_model_selection() {
        let selection: Vec<&str> = crate::models::link::LINK_STATES.iter().map(|(key, _)| *key).collect();
        let states: Vec<&str> = LinkState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(selection, states);
        assert_eq!(LinkState::parse("fetching"), Some(LinkState::Fetching));
        assert_eq!(LinkState::parse("bogus"), None);
    }

    #[test]
    fn human_time_has_no_iso_t() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T13:25:40Z").unwrap().with_timezone(&Utc);
        assert_eq!(human_time(at), "27 Nov 2026 at 13:25 UTC");
        assert_eq!(parse_db_time(&db_time(at)).map(|t| t.timestamp()), Some(at.timestamp()));
    }
}
