//! The one transition function of a bank link's states (`LinkState`), over aggregator-neutral events.
//!
//! Whatever moves a link (a button, the browser's return from the aggregator's page, a callback, the
//! follower of a running attempt, the scheduler, `bankbridge sync`) says what happened as a
//! [`LinkEvent`]; [`LinkState::after`] answers the next state or refuses. The aggregator's own words (Salt
//! Edge's error classes) are mapped to a [`Failure`] on the aggregator's side, never here.
//!
//! The rule that matters most: a disconnected link stays as the user left it. Once the user revoked the
//! consent or removed the connection, what the aggregator or the bridge reports later (a late callback, a
//! follower that was still running) changes nothing, unless the user started a new attempt on the link
//! since (its return URL is still awaited) or acts on it now.

use std::fmt;

use super::LinkState;

/// Why a synchronization failed, in the words the link's states need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The user must act at the bank: log in again, answer the bank, renew an expired or revoked consent,
    /// open the existing link of a duplicate, connect again a connection the aggregator no longer has.
    NeedsUser,
    /// The bank refused the attempt for another reason.
    Refused,
    /// Not now: the bank or the aggregator is unavailable, busy, rate-limited, or the attempt ran out of
    /// time. A working connection stays usable.
    Temporary,
    /// The bridge's side: the aggregator refused the bridge's request (its configuration, an answer it
    /// did not expect), or the bridge itself failed. Not the connection's fault.
    Bridge,
}

impl Failure {
    pub const ALL: [Failure; 4] = [Failure::NeedsUser, Failure::Refused, Failure::Temporary, Failure::Bridge];
}

/// Who reports an event: the user acting on the link, or the aggregator and the bridge's own background
/// work (callbacks, the follower of an attempt, the scheduler, `bankbridge sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A button in Odoo, or the browser back from the aggregator's page with the attempt's one-time
    /// `state`.
    User,
    Background,
}

/// What happened to a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkEvent {
    /// An attempt runs at the aggregator (connect, reconnect, refresh, background refresh), or the bridge
    /// imports what the aggregator already holds.
    AttemptStarted(Origin),
    /// The running attempt moved on (a stage, a connection recorded, a page imported).
    Progressed,
    /// The attempt ended and what it brought is imported.
    Succeeded,
    /// The attempt, or a request about the connection, failed.
    Failed(Failure),
    /// The user revoked the consent: the bank stops sharing data, the connection stays.
    Revoked,
    /// The connection is gone: the user removed it, or the aggregator says it removed it.
    Removed,
}

impl LinkEvent {
    /// Every event, for tables and tests.
    pub fn all() -> Vec<LinkEvent> {
        let mut all = vec![
            LinkEvent::AttemptStarted(Origin::User),
            LinkEvent::AttemptStarted(Origin::Background),
            LinkEvent::Progressed,
            LinkEvent::Succeeded,
        ];
        all.extend(Failure::ALL.map(LinkEvent::Failed));
        all.extend([LinkEvent::Revoked, LinkEvent::Removed]);
        all
    }
}

/// What the transition needs to know of the link besides its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkFacts {
    /// The link holds a connection at the aggregator.
    pub has_connection: bool,
    /// The user started an attempt on the link that may still report (its return URL was issued, has not
    /// expired, and no revoke or removal came after it).
    pub attempt_awaited: bool,
}

/// A transition the function refuses: the link keeps its state and the event is logged, not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub state: LinkState,
    pub event: LinkEvent,
    pub reason: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} refused in state {}: {}", self.event, self.state, self.reason)
    }
}

impl LinkState {
    /// The state after `event`, or why the link keeps this one.
    pub fn after(self, event: LinkEvent, facts: LinkFacts) -> Result<LinkState, Refused> {
        use LinkEvent::*;
        use LinkState::*;
        let refuse = |reason| Err(Refused { state: self, event, reason });
        match (self, event) {
            // The user's own acts are always taken.
            (_, Revoked | Removed) => Ok(Disconnected),
            (_, AttemptStarted(Origin::User)) => Ok(Fetching),
            // A disconnected link hears nothing else, unless the user awaits an attempt on it.
            (Disconnected, _) if !facts.attempt_awaited => {
                refuse("the user disconnected this link and started no attempt on it since")
            }
            (_, AttemptStarted(Origin::Background)) => Ok(Fetching),
            (state, Progressed) => Ok(state),
            (_, Succeeded) => Ok(Connected),
            (_, Failed(Failure::NeedsUser | Failure::Refused)) => Ok(Error),
            (_, Failed(Failure::Temporary | Failure::Bridge)) if facts.has_connection => Ok(Connected),
            (_, Failed(Failure::Temporary | Failure::Bridge)) => Ok(Error),
        }
    }
}

#[cfg(test)]
mod tests;
