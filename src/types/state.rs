//! States stored as text and offered to clients as Odoo selections: one enum each, with its stored code
//! (`as_str`), the parsing of a stored code (`parse`), and the selection its model declares.

use std::fmt;

/// The state of a bank link (`account.online.link.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkState {
    Connected,
    /// An attempt runs at Salt Edge (connect, reconnect, refresh, background refresh), or the bridge
    /// imports what it brought; `sync_progress` says how far it is. Ends `connected` or `error`.
    Fetching,
    /// The last synchronization failed; `error_message` says why.
    Error,
    /// Not connected yet, or the consent was revoked or the connection removed.
    Disconnected,
}

impl LinkState {
    pub const ALL: [LinkState; 4] =
        [LinkState::Connected, LinkState::Fetching, LinkState::Error, LinkState::Disconnected];

    /// `(code, label)` pairs, as `fields_get` lists them.
    pub const SELECTION: &'static [(&'static str, &'static str)] = &[
        (LinkState::Connected.as_str(), LinkState::Connected.label()),
        (LinkState::Fetching.as_str(), LinkState::Fetching.label()),
        (LinkState::Error.as_str(), LinkState::Error.label()),
        (LinkState::Disconnected.as_str(), LinkState::Disconnected.label()),
    ];

    /// The code stored in the database and sent to clients.
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkState::Connected => "connected",
            LinkState::Fetching => "fetching",
            LinkState::Error => "error",
            LinkState::Disconnected => "disconnected",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            LinkState::Connected => "Connected",
            LinkState::Fetching => "Synchronization running",
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

/// The aggregator an institution belongs to and a link goes through (`provider` of
/// `account.online.institution` and `account.online.link`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    SaltEdge,
    EnableBanking,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::SaltEdge, Provider::EnableBanking];

    /// `(code, label)` pairs, as `fields_get` lists them.
    pub const SELECTION: &'static [(&'static str, &'static str)] = &[
        (Provider::SaltEdge.as_str(), Provider::SaltEdge.label()),
        (Provider::EnableBanking.as_str(), Provider::EnableBanking.label()),
    ];

    /// The code stored in the database and sent to clients.
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::SaltEdge => "saltedge",
            Provider::EnableBanking => "enablebanking",
        }
    }

    /// The aggregator's name, as the user reads it.
    pub const fn label(self) -> &'static str {
        match self {
            Provider::SaltEdge => "Salt Edge",
            Provider::EnableBanking => "Enable Banking",
        }
    }

    pub fn parse(code: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == code)
    }
}

impl fmt::Display for Provider {
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
            &[
                ("connected", "Connected"),
                ("fetching", "Synchronization running"),
                ("error", "Error"),
                ("disconnected", "Not Connected")
            ]
        );
        assert_eq!(TransactionStatus::SELECTION, &[("posted", "Posted"), ("pending", "Pending")]);
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()), Some(provider));
        }
        assert_eq!(Provider::SELECTION, &[("saltedge", "Salt Edge"), ("enablebanking", "Enable Banking")]);
        assert_eq!(Provider::parse("SaltEdge"), None);
        assert_eq!(LinkState::parse("Connected"), None);
        assert_eq!(TransactionStatus::parse(""), None);
    }
}
