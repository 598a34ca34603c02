//! An `object` call on the blocking pool: its caller checked, then the call planned and run; a read by a
//! caller verified before runs first, checking that caller in its own statement (`remembered`).

use crate::app::App;
use crate::auth::Identity;
use crate::db::AnyConnection;
use crate::error::Result;

use super::remembered::{read_as_remembered, Remembered};
use super::{settle, ObjectRequest, Place, Step};

/// On the blocking pool: the caller checked, and its call planned and run (`settle`), or first read as the
/// caller was last verified (`read_as_remembered`).
pub(super) fn on_pool(conn: &mut AnyConnection, app: &App, request: ObjectRequest) -> Result<(Identity, Step)> {
    let identity = match read_as_remembered(conn, app, &request, Place::Pool) {
        Remembered::Answered(identity, step) => return Ok((identity, step)),
        Remembered::Checked(identity) => identity?,
        Remembered::NotTaken | Remembered::Unfinished => request.credential.check(app, conn, request.client)?,
    };
    Ok((identity, settle(conn, app, Place::Pool, identity, request.serie, request.call)))
}
