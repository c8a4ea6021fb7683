//! sqlx's own log of the statements it executes, for the tests that count
//! what a call costs the database (R-SCALE-3, R-VDIR-12, R-STORE-14).
//!
//! sqlx logs every statement it executes as one event of target
//! `sqlx::query`, on both backends, on the thread that ran it (a SQLite
//! connection's own worker thread; the calling task's thread on
//! PostgreSQL). Counting those events counts statements exactly, whatever
//! the store's code path, without a proxy in front of the database.

use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// Receives each statement's text, whitespace collapsed, on the thread that
/// executed it.
pub type StatementSink = Arc<dyn Fn(String) + Send + Sync>;

/// Makes `sink` the receiver of every statement sqlx logs from now on, in
/// this whole process (it installs the process's tracing subscriber, with
/// only sqlx's statement events enabled, so nothing else is formatted). A
/// test binary calls it once (behind a `OnceLock`): a second call panics,
/// since the process can have only one subscriber.
pub fn send_statements_to(sink: StatementSink) {
    let subscriber = tracing_subscriber::registry()
        .with(Statements(sink))
        .with(tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::TRACE));
    tracing::subscriber::set_global_default(subscriber).expect("the only tracing subscriber of this test binary");
}

struct Statements(StatementSink);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        (self.0)(text.text());
    }
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
