//! The statements one connection runs, as sqlx logs them (target
//! `sqlx::query`, one event per statement executed, on both backends),
//! for tests that count what a store call costs (R-STORE-14).
//!
//! The suite's tests run at once on other threads (`cargo test`), all
//! logging into the one process-wide subscriber, so a log keeps only the
//! statements of the thread that logged its marker statement: a SQLite
//! connection runs its statements on a thread of its own, and a
//! PostgreSQL test's statements are logged on the test's own thread (a
//! current-thread runtime).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

use crmsync_store::Store;

/// Every log's watched threads and what they logged.
#[derive(Default)]
struct Logs {
    /// Marker text → the thread it was seen on.
    markers: Mutex<Vec<(String, Option<ThreadId>)>>,
    watched: Mutex<HashSet<ThreadId>>,
    statements: Mutex<Vec<(ThreadId, String)>>,
}

impl Logs {
    /// One statement, on the thread that ran it: a marker makes its thread
    /// watched, a watched thread's statement is kept.
    fn note(&self, text: String) {
        let thread = std::thread::current().id();
        for (marker, seen) in self.markers.lock().unwrap().iter_mut() {
            if text.contains(marker.as_str()) {
                *seen = Some(thread);
                self.watched.lock().unwrap().insert(thread);
                return;
            }
        }
        if self.watched.lock().unwrap().contains(&thread) {
            self.statements.lock().unwrap().push((thread, text));
        }
    }
}

fn logs() -> Arc<Logs> {
    static LOGS: OnceLock<Arc<Logs>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Logs::default());
        let recording = logs.clone();
        crmsync_testkit::send_statements_to(Arc::new(move |text| recording.note(text)));
        logs
    })
    .clone()
}

/// The statements `store`'s connection runs from now on, for a store with
/// one connection (`Store::connect_one_shot`; one thread of a SQLite file,
/// or the calling thread on PostgreSQL).
pub struct StatementLog {
    logs: Arc<Logs>,
    thread: ThreadId,
}

impl StatementLog {
    /// Starts a log: runs a marker statement to learn the connection's thread.
    pub async fn start(store: &Store) -> StatementLog {
        let logs = logs();
        let marker = format!("statement-log-{}", uuid::Uuid::new_v4().simple());
        logs.markers.lock().unwrap().push((marker.clone(), None));
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT '{marker}' AS marker")))
            .fetch_one(store.pool())
            .await
            .expect("the marker statement");
        let thread = logs
            .markers
            .lock()
            .unwrap()
            .iter()
            .find(|(m, _)| *m == marker)
            .and_then(|(_, seen)| *seen)
            .expect("sqlx logged the marker statement");
        logs.statements.lock().unwrap().retain(|(t, _)| *t != thread);
        StatementLog { logs, thread }
    }

    /// What the connection ran since [`StatementLog::start`] or the last take.
    pub fn take(&self) -> Vec<String> {
        let mut all = self.logs.statements.lock().unwrap();
        let (mine, others): (Vec<_>, Vec<_>) = all.drain(..).partition(|(t, _)| *t == self.thread);
        *all = others;
        mine.into_iter().map(|(_, s)| s).collect()
    }
}
