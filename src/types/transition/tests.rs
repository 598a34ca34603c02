//! The whole table: every state × every event × every combination of facts, written out.

use super::*;
use LinkState::{Connected as C, Disconnected as D, Error as E, Fetching as F};

/// A refused transition.
const X: Option<LinkState> = None;

/// The facts in the order of the table's columns: (has_connection, attempt_awaited).
const FACTS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

fn expected() -> Vec<(LinkState, LinkEvent, [Option<LinkState>; 4])> {
    use LinkEvent::*;
    let started_by_user = AttemptStarted(Origin::User);
    let started_in_background = AttemptStarted(Origin::Background);
    let (needs_user, refused, temporary, bridge) =
        (Failed(Failure::NeedsUser), Failed(Failure::Refused), Failed(Failure::Temporary), Failed(Failure::Bridge));
    let (c, f, e, d) = (Some(C), Some(F), Some(E), Some(D));
    vec![
        //            no connection  connection   no connection  connection
        //            not awaited    not awaited  awaited        awaited
        (C, started_by_user, [f, f, f, f]),
        (C, started_in_background, [f, f, f, f]),
        (C, Progressed, [c, c, c, c]),
        (C, Succeeded, [c, c, c, c]),
        (C, needs_user, [e, e, e, e]),
        (C, refused, [e, e, e, e]),
        (C, temporary, [e, c, e, c]),
        (C, bridge, [e, c, e, c]),
        (C, Revoked, [d, d, d, d]),
        (C, Removed, [d, d, d, d]),
        (F, started_by_user, [f, f, f, f]),
        (F, started_in_background, [f, f, f, f]),
        (F, Progressed, [f, f, f, f]),
        (F, Succeeded, [c, c, c, c]),
        (F, needs_user, [e, e, e, e]),
        (F, refused, [e, e, e, e]),
        (F, temporary, [e, c, e, c]),
        (F, bridge, [e, c, e, c]),
        (F, Revoked, [d, d, d, d]),
        (F, Removed, [d, d, d, d]),
        (E, started_by_user, [f, f, f, f]),
        (E, started_in_background, [f, f, f, f]),
        (E, Progressed, [e, e, e, e]),
        (E, Succeeded, [c, c, c, c]),
        (E, needs_user, [e, e, e, e]),
        (E, refused, [e, e, e, e]),
        (E, temporary, [e, c, e, c]),
        (E, bridge, [e, c, e, c]),
        (E, Revoked, [d, d, d, d]),
        (E, Removed, [d, d, d, d]),
        // Disconnected: the user's acts are taken; the rest only while the user awaits an attempt.
        (D, started_by_user, [f, f, f, f]),
        (D, started_in_background, [X, X, f, f]),
        (D, Progressed, [X, X, d, d]),
        (D, Succeeded, [X, X, c, c]),
        (D, needs_user, [X, X, e, e]),
        (D, refused, [X, X, e, e]),
        (D, temporary, [X, X, e, c]),
        (D, bridge, [X, X, e, c]),
        (D, Revoked, [d, d, d, d]),
        (D, Removed, [d, d, d, d]),
    ]
}

#[test]
fn every_state_and_event_has_its_outcome_in_the_table() {
    let table = expected();
    for state in LinkState::ALL {
        for event in LinkEvent::all() {
            let rows: Vec<_> = table.iter().filter(|(s, e, _)| *s == state && *e == event).collect();
            assert_eq!(rows.len(), 1, "{state} × {event:?} is in the table once");
        }
    }
    assert_eq!(table.len(), LinkState::ALL.len() * LinkEvent::all().len());
    for (state, event, outcomes) in table {
        for ((has_connection, attempt_awaited), outcome) in FACTS.into_iter().zip(outcomes) {
            let facts = LinkFacts { has_connection, attempt_awaited };
            let got = state.after(event, facts);
            assert_eq!(got.ok(), outcome, "{state} × {event:?} with {facts:?}: {got:?}");
            if let Err(refused) = got {
                assert_eq!((refused.state, refused.event), (state, event));
            }
        }
    }
}

#[test]
fn a_late_failure_after_revoke_or_removal_leaves_the_link_disconnected() {
    let revoked = LinkFacts { has_connection: true, attempt_awaited: false };
    let removed = LinkFacts { has_connection: false, attempt_awaited: false };
    for facts in [revoked, removed] {
        for failure in Failure::ALL {
            assert!(D.after(LinkEvent::Failed(failure), facts).is_err());
        }
        assert!(D.after(LinkEvent::Succeeded, facts).is_err());
        assert!(D.after(LinkEvent::AttemptStarted(Origin::Background), facts).is_err());
    }
}
