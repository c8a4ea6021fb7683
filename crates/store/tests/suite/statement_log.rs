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
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// Every log's watched threads and what they logged.
#[derive(Default)]
struct Logs {
    /// Marker text → the thread it was seen on.
    markers: Mutex<Vec<(String, Option<ThreadId>)>>,
    watched: Mutex<HashSet<ThreadId>>,
    statements: Mutex<Vec<(ThreadId, String)>>,
}

/// A statement's text: sqlx sends its first words as `summary` and the
/// whole text as `db.statement` when the summary is shorter (else empty).
#[derive(Default)]
struct Text {
    summary: String,
    full: String,
}

impl Text {
    fn text(self) -> String {
        let text = if self.full.trim().is_empty() {
            self.summary
        } else {
            self.full
        };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.full = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

struct Recording(Arc<Logs>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recording {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut visited = Text::default();
        event.record(&mut visited);
        let text = visited.text();
        let thread = std::thread::current().id();
        for (marker, seen) in self.0.markers.lock().unwrap().iter_mut() {
            if text.contains(marker.as_str()) {
                *seen = Some(thread);
                self.0.watched.lock().unwrap().insert(thread);
                return;
            }
        }
        if self.0.watched.lock().unwrap().contains(&thread) {
            self.0.statements.lock().unwrap().push((thread, text));
        }
    }
}

fn logs() -> Arc<Logs> {
    static LOGS: OnceLock<Arc<Logs>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Logs::default());
        // Only sqlx's statement events are enabled, so nothing else of the
        // suite is formatted.
        let subscriber = tracing_subscriber::registry()
            .with(Recording(logs.clone()))
            .with(tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::TRACE));
        tracing::subscriber::set_global_default(subscriber).expect("the suite's only subscriber");
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
