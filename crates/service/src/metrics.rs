//! Prometheus metrics of the scheduler and its runs. The server mounts
//! [`Metrics::render`] at `/metrics`.
//!
//! Each process has its own registry (not the global default), so tests and
//! several schedulers in one process do not mix their numbers.

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Cheap to clone: clones share the same counters.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    actions: IntCounterVec,
    conflicts: IntCounter,
    errors: IntCounterVec,
    run_duration: Histogram,
    queue_lag: Histogram,
    running: IntGauge,
    triggers: IntCounter,
    idle: IntGauge,
    rejected_notifications: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let runs = IntCounterVec::new(
            Opts::new(
                "crmsync_runs_total",
                "Profile runs by outcome (ok, partial, guarded, failed, abandoned).",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let actions = IntCounterVec::new(
            Opts::new(
                "crmsync_actions_total",
                "Sync actions applied, by kind (\"target kind\") and the SPEC rule that chose them.",
            ),
            &["kind", "rule"],
        )
        .expect("valid metric");
        let conflicts = IntCounter::new("crmsync_conflicts_total", "Conflicts queued for a person to decide.")
            .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "crmsync_errors_total",
                "Failed profile runs by kind (transient, permanent).",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let run_duration = Histogram::with_opts(
            HistogramOpts::new("crmsync_run_duration_seconds", "Wall time of one profile run.")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]),
        )
        .expect("valid metric");
        let queue_lag = Histogram::with_opts(
            HistogramOpts::new(
                "crmsync_queue_lag_seconds",
                "How long a due profile waited for a worker (start time minus due time).",
            )
            .buckets(vec![0.1, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 900.0]),
        )
        .expect("valid metric");
        let running = IntGauge::new("crmsync_runs_in_progress", "Profile runs in progress in this process.")
            .expect("valid metric");
        let triggers = IntCounter::new(
            "crmsync_triggers_total",
            "Profiles triggered by CRM changes or groupware notifications (R-SCHED-2).",
        )
        .expect("valid metric");
        let idle = IntGauge::new(
            "crmsync_idle_connections",
            "Mail folders this process watches with IMAP IDLE (R-TRACK-MAIL-11).",
        )
        .expect("valid metric");
        let rejected_notifications = IntCounter::new(
            "crmsync_rejected_notifications_total",
            "Change notifications whose subscription or clientState did not match a stored subscription (R-SCHED-2).",
        )
        .expect("valid metric");
        for c in [
            Box::new(runs.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(actions.clone()),
            Box::new(conflicts.clone()),
            Box::new(errors.clone()),
            Box::new(run_duration.clone()),
            Box::new(queue_lag.clone()),
            Box::new(running.clone()),
            Box::new(triggers.clone()),
            Box::new(idle.clone()),
            Box::new(rejected_notifications.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            runs,
            actions,
            conflicts,
            errors,
            run_duration,
            queue_lag,
            running,
            triggers,
            idle,
            rejected_notifications,
        }
    }

    /// Change notifications that matched no stored subscription (forged, or
    /// for one crmsync replaced): answered, but nothing ran.
    pub fn notifications_rejected(&self, n: u64) {
        self.rejected_notifications.inc_by(n);
    }

    /// The Prometheus text exposition format (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# metrics could not be encoded: {e}\n"))
    }

    pub(crate) fn run_started(&self, lag: Duration) {
        self.running.inc();
        self.queue_lag.observe(lag.as_secs_f64());
    }

    pub(crate) fn run_ended(&self, outcome: &str, took: Duration) {
        self.running.dec();
        self.runs.with_label_values(&[outcome]).inc();
        self.run_duration.observe(took.as_secs_f64());
    }

    pub(crate) fn action(&self, kind: &str, rule: &str) {
        self.actions.with_label_values(&[kind, rule]).inc();
        if kind.ends_with(" conflict") {
            self.conflicts.inc();
        }
    }

    pub(crate) fn error(&self, transient: bool) {
        let kind = if transient { "transient" } else { "permanent" };
        self.errors.with_label_values(&[kind]).inc();
    }

    pub(crate) fn triggered(&self, n: u64) {
        self.triggers.inc_by(n);
    }

    pub(crate) fn idle_watches(&self, n: usize) {
        self.idle.set(n as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_in_text_format() {
        let m = Metrics::new();
        m.run_started(Duration::from_millis(300));
        m.action("groupware create", "R-DIR-1");
        m.action("crm conflict", "R-EDIT-3");
        m.error(true);
        m.run_ended("ok", Duration::from_millis(20));
        m.triggered(2);
        let text = m.render();
        for line in [
            "crmsync_runs_total{outcome=\"ok\"} 1",
            "crmsync_actions_total{kind=\"groupware create\",rule=\"R-DIR-1\"} 1",
            "crmsync_conflicts_total 1",
            "crmsync_errors_total{kind=\"transient\"} 1",
            "crmsync_run_duration_seconds_count 1",
            "crmsync_queue_lag_seconds_count 1",
            "crmsync_runs_in_progress 0",
            "crmsync_triggers_total 2",
            "crmsync_idle_connections 0",
        ] {
            assert!(text.contains(line), "missing `{line}` in\n{text}");
        }
    }
}
