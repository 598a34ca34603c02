//! An `object` call on the blocking pool: its caller checked, then the call planned and run; on
//! PostgreSQL a read by a caller verified before runs first, checking that caller in its own statement.

use crate::app::App;
use crate::auth::Identity;
use crate::db::{AnyConnection, Backend};
use crate::error::Result;
use crate::orm::access::{generic_operation, Operation};
use crate::types::GuardSeen;

use super::{plan_call, run_generic, settle, Credential, ObjectRequest, Place, Planned, Step};

/// On the blocking pool: the caller checked, and its call planned and run (`settle`), or first, on
/// PostgreSQL, read as the caller was last verified (`read_as_remembered`).
pub(super) fn on_pool(conn: &mut AnyConnection, app: &App, request: ObjectRequest) -> Result<(Identity, Step)> {
    let identity = match read_as_remembered(conn, app, &request) {
        Remembered::Answered(identity, step) => return Ok((identity, step)),
        Remembered::Checked(identity) => identity?,
        Remembered::NotTaken => request.credential.check(app, conn, request.client)?,
    };
    Ok((identity, settle(conn, app, Place::Pool, identity, request.serie, request.call)))
}

/// What `read_as_remembered` did.
enum Remembered {
    /// Answered, the caller confirmed by the read's own statement or by the check after it.
    Answered(Identity, Step),
    /// The read's answer was not used; the check after it gave this (the call runs again as it says).
    Checked(Result<Identity>),
    /// Not tried: the usual check comes first.
    NotTaken,
}

/// A reading call on PostgreSQL by a caller whose secret was verified here before, run as that caller
/// with its user row checked by the read's own statement (`Env::guard`): each statement is a round trip,
/// and `search_read` and `read` then spend none on the credential check. A read that could not check it (another method, no
/// row to carry it) is followed by the usual check, and its answer stands only if that check finds the
/// same caller; a failed guard (the user disabled, its password, keys or company changed) leaves the
/// answer unused and the usual check decides.
fn read_as_remembered(conn: &mut AnyConnection, app: &App, request: &ObjectRequest) -> Remembered {
    let (Backend::Postgres, Ok(call)) = (conn.backend(), &request.call) else {
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
    match call.env.guard_seen.get() {
        GuardSeen::Held => Remembered::Answered(remembered.identity, Step::Answered(outcome)),
        GuardSeen::Failed => Remembered::NotTaken,
        GuardSeen::NotChecked => match request.credential.check(app, conn, request.client) {
            Ok(identity) if identity == remembered.identity => Remembered::Answered(identity, Step::Answered(outcome)),
            checked => Remembered::Checked(checked),
        },
    }
}
