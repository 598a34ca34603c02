//! A read by a caller whose secret this process verified before, run as that caller with the caller's
//! user row checked by the read's own statement: on the HTTP worker (SQLite) and on the blocking pool.

use crate::app::App;
use crate::auth::Identity;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::orm::access::{generic_operation, Operation};
use crate::types::GuardSeen;

use super::{plan_call, run_generic, unfinished_at, Credential, ObjectRequest, Place, Planned, Step};

/// What `read_as_remembered` did.
pub(super) enum Remembered {
    /// Answered, the caller confirmed by the read's own statement or by the check after it.
    Answered(Identity, Step),
    /// The read's answer was not used; the check after it gave this (the call runs again as it says).
    Checked(Result<Identity>),
    /// Not tried: the usual check comes first.
    NotTaken,
    /// On the HTTP worker: the read went over the step budget or met a lock; the pool runs it.
    Unfinished,
}

/// A reading call by a caller whose secret was verified here before, run at `place` as that caller with
/// its user row checked by the read's own statement (`Env::guard`): `search_read` and `read` then spend
/// no statement on the credential check (on PostgreSQL a round trip; on SQLite, for a small read, a fifth
/// of the call). A read that could not check it (another method, no row to carry it) is followed by the
/// usual check, and its answer stands only if that check finds the same caller; a failed guard (the user
/// disabled, its password, keys or company changed) leaves the answer unused and the usual check decides.
pub(super) fn read_as_remembered(
    conn: &mut AnyConnection,
    app: &App,
    request: &ObjectRequest,
    place: Place,
) -> Remembered {
    let Ok(call) = &request.call else {
        return Remembered::NotTaken;
    };
    // Only a reading method is worth the copy and the plan below (a write checks first, and is planned once,
    // by `settle`); the planned operation is matched again where it runs.
    if !matches!(generic_operation(&call.method), Some(Operation::Read | Operation::None)) {
        return Remembered::NotTaken;
    }
    let remembered = match &request.credential {
        Credential::Password { uid, password } => app.auth.remembered_caller(*uid, password, request.client),
        Credential::Bearer(key) => app.auth.remembered_bearer(key, request.client),
    };
    let Some(remembered) = remembered else {
        return Remembered::NotTaken;
    };
    let call = call.clone();
    let planned = plan_call(app, remembered.identity, &call.model, &call.method, call.args, call.kwargs, request.serie);
    let Ok(Planned::Generic { mut call, operation: operation @ (Operation::Read | Operation::None) }) = planned else {
        return Remembered::NotTaken;
    };
    call.env.guard = Some(remembered.user_row());
    let outcome = run_generic(conn, app, &call, operation);
    if unfinished_at(place, &outcome) {
        return Remembered::Unfinished;
    }
    match call.env.guard_seen.get() {
        GuardSeen::Held => Remembered::Answered(remembered.identity, Step::Answered(outcome)),
        GuardSeen::Failed => Remembered::NotTaken,
        GuardSeen::NotChecked => match check_at(place, app, conn, request) {
            Ok(identity) if identity == remembered.identity => Remembered::Answered(identity, Step::Answered(outcome)),
            checked => Remembered::Checked(checked),
        },
    }
}

/// The usual check of the request's caller at `place`: on the HTTP worker, only as a secret verified
/// before (no argon2 there); a secret it does not know is denied there, and the pool checks it again.
fn check_at(place: Place, app: &App, conn: &mut AnyConnection, request: &ObjectRequest) -> Result<Identity> {
    match place {
        Place::Pool => request.credential.check(app, conn, request.client),
        Place::Worker => {
            request.credential.check_remembered(app, conn, request.client)?.ok_or_else(Error::access_denied)
        }
    }
}
