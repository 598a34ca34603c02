//! Storage errors are not swallowed: a rollback that fails after failed work is logged with its reason,
//! and the caller still gets the work's own error.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bankbridge::db::{self, DatabaseUrl};
use bankbridge::error::Error;
use diesel::connection::SimpleConnection;

/// Log lines written by a test's own subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[test]
fn a_failed_rollback_is_logged_and_the_work_error_returned() {
    let dir = std::env::temp_dir().join(format!("bankbridge-storage-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = DatabaseUrl::Sqlite(dir.join("bridge.db").to_string_lossy().into_owned());
    let pool = db::connect(&url, 1).expect("database");
    let mut conn = pool.get().expect("connection");

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(captured.clone()).with_ansi(false).finish();
    let result = tracing::subscriber::with_default(subscriber, || {
        db::write_transaction(&mut conn, |conn| {
            // Ends the transaction behind the manager's back: the rollback that follows the failure fails.
            conn.batch_execute("COMMIT").map_err(Error::from)?;
            Err::<(), _>(Error::user("the work failed"))
        })
    });

    assert_eq!(result.unwrap_err().message(), "the work failed");
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("rolling back a failed write transaction failed"), "{log}");
    assert!(log.contains("no transaction is active"), "the rollback's own reason: {log}");
    drop(conn);
    drop(pool);
    std::fs::remove_dir_all(&dir).unwrap();
}
