//! The storage modules against a real SQLite database.

use super::*;
use crate::db::{AnyConnection, DatabaseUrl};

/// A fresh bridge database in its own directory, with one company (id returned) and one link in it.
pub(crate) fn database(name: &str) -> (std::path::PathBuf, crate::db::DbPool, i64, i64) {
    let dir = std::env::temp_dir().join(format!("bankbridge-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let url = DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned());
    let app = crate::server::open(&url, "bankbridge", 2, 0, crate::bank::Banks::default()).expect("open");
    let mut conn = app.pool.get().expect("connection");
    let company = crate::auth::ensure_company(&mut conn, "My Company").expect("company");
    let link = links::create(
        &mut conn,
        NewLink {
            provider: crate::types::Provider::SaltEdge,
            company_id: company,
            name: "Bank",
            institution_id: None,
            provider_code: "bank_xf",
            email: "a@b.c",
            phone: None,
        },
    )
    .expect("link");
    (dir, app.pool.clone(), company, link)
}

fn has_control(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| t.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')))
}

#[test]
fn every_text_column_of_a_link_is_stored_clean() {
    let (dir, pool, _, link) = database("clean-link");
    let mut pooled = pool.get().expect("connection");
    let conn: &mut AnyConnection = &mut pooled;
    let dirty = |what: &str| Some(Some(format!("{what}\u{0}\u{1b}[31m\u{ffff}")));
    let update = LinkUpdate {
        name: dirty("name"),
        provider_code: dirty("provider"),
        client_id: dirty("customer"),
        connection_identifier: dirty("connection"),
        error_message: dirty("message"),
        renewal_contact_email: dirty("email"),
        renewal_contact_phone: dirty("phone"),
        return_url: dirty("http://odoo.test/"),
        // The aggregator's stage text, written on every poll of a running attempt.
        sync_progress: dirty("Salt Edge is fetching from the bank (stage: fetch"),
        ..Default::default()
    };
    links::update(conn, link, update).expect("update");
    let row = links::load(conn, link, None).expect("row");
    let progress: Option<String> = {
        use crate::db::schema::online_links;
        use diesel::prelude::*;
        online_links::table
            .filter(online_links::id.eq(link))
            .select(online_links::sync_progress)
            .first(conn)
            .expect("progress")
    };
    for (column, text) in [
        ("name", &row.name),
        ("provider_code", &row.provider_code),
        ("client_id", &row.client_id),
        ("connection_identifier", &row.connection_identifier),
        ("error_message", &row.error_message),
        ("renewal_contact_email", &row.renewal_contact_email),
        ("renewal_contact_phone", &row.renewal_contact_phone),
        ("return_url", &row.return_url),
        ("sync_progress", &progress),
    ] {
        assert!(text.as_deref().is_some_and(|t| t.ends_with("[31m")), "{column}: {text:?}");
        assert!(!has_control(text), "{column} keeps a control character: {text:?}");
    }
    drop(pooled);
    let _ = std::fs::remove_dir_all(&dir);
}

fn state_of(conn: &mut AnyConnection, link: i64) -> (crate::types::LinkState, Option<String>) {
    let row = links::load(conn, link, None).expect("row");
    (row.state(), row.error_message)
}

fn return_state(link: i64, company: i64) -> ReturnState {
    ReturnState {
        link_id: link,
        company_id: company,
        kind: AttemptKind::Reconnect,
        return_to: None,
        authorization_ref: None,
    }
}

/// A late failure after a revoke or a removal is refused at the one writer of the state, and a new attempt
/// the user starts on the link makes the link hear its aggregator again.
#[test]
fn the_state_writer_leaves_a_disconnected_link_as_the_user_left_it() {
    use crate::types::{Failure, LinkEvent, LinkState, Origin};
    let (dir, pool, company, link) = database("record");
    let mut pooled = pool.get().expect("connection");
    let conn: &mut AnyConnection = &mut pooled;
    let record = |conn: &mut AnyConnection, change: links::Change| links::record(conn, link, change).expect("record");
    let connection = LinkUpdate { connection_identifier: Some(Some("42".into())), ..Default::default() };
    // A first connection: the user's attempt is awaited (its return URL was issued), so the aggregator's
    // report of it moves the new, disconnected link.
    return_states::save(conn, "first", &return_state(link, company), chrono::Duration::minutes(90)).expect("state");
    let started = links::Change::new(LinkEvent::AttemptStarted(Origin::Background)).columns(connection);
    assert_eq!(record(conn, started), Ok(LinkState::Fetching));
    assert_eq!(record(conn, links::Change::new(LinkEvent::Succeeded)), Ok(LinkState::Connected));
    // The user revokes; then a signed, fresh `fail` of an attempt that was still running arrives.
    let revoked = links::Change::new(LinkEvent::Revoked).message("Consent revoked.");
    assert_eq!(record(conn, revoked), Ok(LinkState::Disconnected));
    assert!(!return_states::awaited(conn, link).expect("awaited"), "the revoke forgets the user's attempts");
    for failure in Failure::ALL {
        let late = links::Change::new(LinkEvent::Failed(failure)).message("late fail");
        assert!(record(conn, late).is_err(), "{failure:?}");
    }
    assert!(record(conn, links::Change::new(LinkEvent::Succeeded)).is_err());
    assert_eq!(state_of(conn, link), (LinkState::Disconnected, Some("Consent revoked.".into())));
    // Update Credentials: a new return URL; what Salt Edge reports of that attempt is heard again.
    return_states::save(conn, "again", &return_state(link, company), chrono::Duration::minutes(90)).expect("state");
    let failed = links::Change::new(LinkEvent::Failed(Failure::NeedsUser)).message("Wrong password.");
    assert_eq!(record(conn, failed), Ok(LinkState::Error));
    assert_eq!(state_of(conn, link), (LinkState::Error, Some("Wrong password.".into())));
    // Removed: nothing but the user brings it back either.
    let removed = links::Change::new(LinkEvent::Removed)
        .message("Removed.")
        .columns(LinkUpdate { connection_identifier: Some(None), ..Default::default() });
    assert_eq!(record(conn, removed), Ok(LinkState::Disconnected));
    assert!(record(conn, links::Change::new(LinkEvent::AttemptStarted(Origin::Background))).is_err());
    assert_eq!(
        record(conn, links::Change::new(LinkEvent::AttemptStarted(Origin::User))),
        Ok(LinkState::Fetching),
        "the user's own click is always taken"
    );
    drop(pooled);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The scheduler takes an Enable Banking link only once its `next_refresh` (the bank's daily read limit)
/// has come; a Salt Edge link's `next_refresh` does not hold it back (Salt Edge's own limit is asked).
#[test]
fn the_scheduler_waits_for_an_enable_banking_links_next_refresh() {
    use crate::types::time::datetime_string;
    use crate::types::{LinkEvent, Origin, Provider};
    let (dir, pool, _, link) = database("claim-eb");
    let mut pooled = pool.get().expect("connection");
    let conn: &mut AnyConnection = &mut pooled;
    let connection = LinkUpdate { connection_identifier: Some(Some("session".into())), ..Default::default() };
    links::record(conn, link, links::Change::new(LinkEvent::AttemptStarted(Origin::User)).columns(connection))
        .expect("record")
        .expect("started");
    links::record(conn, link, links::Change::new(LinkEvent::Succeeded)).expect("record").expect("connected");
    let now = chrono::Utc::now();
    let due_before = now + chrono::Duration::minutes(1);
    let stale = now - chrono::Duration::minutes(2);
    let lease = chrono::Duration::minutes(10);
    let set = |conn: &mut AnyConnection, provider: Provider, next: chrono::DateTime<chrono::Utc>| {
        let columns = LinkUpdate {
            provider: Some(provider.as_str().to_string()),
            next_refresh: Some(Some(datetime_string(next))),
            ..Default::default()
        };
        links::update(conn, link, columns).expect("update");
        claims::release(conn, link).expect("release");
    };
    set(conn, Provider::EnableBanking, now + chrono::Duration::hours(1));
    assert_eq!(claims::claim_due(conn, "w", lease, due_before, stale).expect("claim"), None);
    set(conn, Provider::EnableBanking, now - chrono::Duration::minutes(1));
    assert_eq!(claims::claim_due(conn, "w", lease, due_before, stale).expect("claim"), Some(link));
    set(conn, Provider::SaltEdge, now + chrono::Duration::hours(1));
    assert_eq!(claims::claim_due(conn, "w", lease, due_before, stale).expect("claim"), Some(link));
    drop(pooled);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bank's daily read budget is taken under the link's lock and written before any read: four reads,
/// then the time the first two stop counting; a refusal time the bank gave holds until then.
#[test]
fn reads_are_taken_from_the_links_daily_budget() {
    use crate::enablebanking::plan::{self, Asker, PlannedReads};
    use crate::types::time::datetime_string;
    let (dir, pool, _, link) = database("take-reads");
    let mut pooled = pool.get().expect("connection");
    let conn: &mut AnyConnection = &mut pooled;
    let t0 = chrono::Utc::now();
    let take = |conn: &mut AnyConnection, at| links::take_reads(conn, link, at, Asker::User).expect("take");
    let both = PlannedReads { transactions: true, balances: true };
    let transactions = PlannedReads { transactions: true, balances: false };
    assert_eq!(take(conn, t0), Ok(both));
    assert_eq!(take(conn, t0), Ok(transactions));
    assert_eq!(take(conn, t0), Ok(transactions));
    // Stored to the second: the first reads stop counting a day (and the margin) after that second.
    let freed = take(conn, t0).map(|_| ()).map_err(|at| at.timestamp());
    assert_eq!(freed, Err((t0 + plan::counted_for()).timestamp()));
    let row = links::load(conn, link, None).expect("row");
    assert_eq!(links::counted_reads(&row).len(), plan::READS_PER_DAY);
    let later = t0 + plan::counted_for() + chrono::Duration::seconds(1);
    assert_eq!(take(conn, later), Ok(both));
    let refused = later + chrono::Duration::hours(24);
    let columns = LinkUpdate { next_refresh_possible_at: Some(Some(datetime_string(refused))), ..Default::default() };
    links::update(conn, link, columns).expect("update");
    assert_eq!(take(conn, later).map(|_| ()).map_err(|at| at.timestamp()), Err(refused.timestamp()));
    drop(pooled);
    let _ = std::fs::remove_dir_all(&dir);
}
