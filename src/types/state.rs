//! States stored as text and offered to clients as Odoo selections: one enum each, with its stored code
//! (`as_str`), the parsing of a stored code (`parse`), and the selection its model declares.

use std::fmt;

/// The state of a bank link (`account.online.link.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkState {
    Connected,
    /// The last synchronization failed; `error_message` says why.
    Error,
    /// Not connected yet, or the consent was revoked or the connection removed.
    Disconnected,
}

impl LinkState {
    pub const ALL: [LinkState; 3] = [LinkState::Connected, LinkState::Error, LinkState::Disconnected];

    /// `(code, label)` pairs, as `fields_get` lists them.
    pub const SELECTION: &'static [(&'static str, &'static str)] = &[
        (LinkState::Connected.as_str(), LinkState::Connected.label()),
        (LinkState::Error.as_str(), LinkState::Error.label()),
        (LinkState::Disconnected.as_str(), LinkState::Disconnected.label()),
    ];

    /// The code stored in the database and sent to clients.
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkState::Connected => "connected",
            LinkState::Error => "error",
            LinkState::Disconnected => "disconnected",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            LinkState::Connected => "Connected",
            LinkState::Error => "Error",
            LinkState::Disconnected => "Not Connected",
        }
    }

    pub fn parse(code: &str) -> Option<LinkState> {
        LinkState::ALL.into_iter().find(|s| s.as_str() == code)
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of a bank transaction (`account.online.transaction.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    Posted,
    /// Not final at the bank: replaced at every fetch, never imported into Odoo.
    Pending,
}

impl TransactionStatus {
    pub const ALL: [TransactionStatus; 2] = [TransactionStatus::Posted, TransactionStatus::Pending];

    /// `(code, label)` pairs, as `fields_get` lists them.
    pub const SELECTION: &'static [(&'static str, &'static str)] = &[
        (TransactionStatus::Posted.as_str(), TransactionStatus::Posted.label()),
        (TransactionStatus::Pending.as_str(), TransactionStatus::Pending.label()),
    ];

    /// The code stored in the database, sent to clients, and used by Salt Edge.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Posted => "posted",
            TransactionStatus::Pending => "pending",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            TransactionStatus::Posted => "Posted",
            TransactionStatus::Pending => "Pending",
        }
    }

    pub fn parse(code: &str) -> Option<TransactionStatus> {
        TransactionStatus::ALL.into_iter().find(|s| s.as_str() == code)
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_back_and_selections_list_every_state_once() {
        for state in LinkState::ALL {
            assert_eq!(LinkState::parse(state.as_str()), Some(state));
            assert_eq!(state.to_string(), state.as_str());
        }
        for status in TransactionStatus::ALL {
            assert_eq!(TransactionStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            LinkState::SELECTION,
            &[("connected", "Connected"), ("error", "Error"), ("disconnected", "Not Connected")]
        );
        assert_eq!(TransactionStatus::SELECTION, &[("posted", "Posted"), ("pending", "Pending")]);
        assert_eq!(LinkState::parse("Connected"), None);
        assert_eq!(TransactionStatus::parse(""), None);
    }
}
