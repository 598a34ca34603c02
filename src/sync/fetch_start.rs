//! How a request to fetch transactions started: what `sync::fetch` and the aggregators' read planning hand
//! each other (apart from both, so that neither imports the other's module for it).

use chrono::{DateTime, Utc};

use crate::bank::FollowGuard;
use crate::enablebanking::plan::PlannedReads;
use crate::sync::follow::AttemptMarker;

/// How a request to fetch transactions started.
pub enum FetchStart {
    /// A background refresh runs at Salt Edge: follow it.
    Refreshing { guard: FollowGuard, connection: String, marker: AttemptMarker },
    /// Salt Edge does not allow a refresh before `until`: import what it already holds.
    TooEarly { guard: FollowGuard, connection: String, until: Option<DateTime<Utc>> },
    /// Enable Banking: read the accounts as planned (the reads are counted on the link already).
    Reading { guard: FollowGuard, reads: PlannedReads },
    /// Enable Banking: the bank's limit allows no read before `until`; nothing to do now.
    NotBefore { until: DateTime<Utc> },
    /// This link's synchronization already runs.
    AlreadyRunning,
}
