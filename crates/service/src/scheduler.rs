//! The scheduler of server mode (R-SCHED-1/2/3/5, R-PUSH-1).
//!
//! It does one [`Scheduler::tick`] whenever a CRM change was signalled, a
//! run ended, or `poll` passed (the fallback):
//! 1. maps new CRM changes to the profiles they touch and marks those due now
//!    (R-SCHED-2);
//! 2. renews the leases of its running profiles, and stops a run whose lease
//!    went to another worker;
//! 3. claims due profiles up to its free run slots, in one statement
//!    (row leases: one run of a profile at a time over all workers,
//!    R-SCHED-3; R-SCHED-5) and starts each in its own task, so a slow or
//!    failing profile never holds up the others.
//!
//! When a run ends, the lease is given back with the next due time: the pull
//! interval plus jitter after a success, a growing delay after a failure
//! ([`SchedulePolicy`]). At shutdown runs get a grace period; what is still
//! running then is abandoned, which the runner's journal makes safe: the
//! next run of the profile, on any worker, resolves the half-done steps first.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crmsync_config::SchedulerConfig;
use crmsync_store::{ProfileRow, RunRelease};
use crmsync_sync::RunOutcome;
use futures_util::FutureExt as _;
use tokio::sync::{Notify, broadcast};
use tokio::task::AbortHandle;
use tracing::Instrument as _;

use crate::catalog::ProfileCatalog;
use crate::clock::Clock;
use crate::definition::{MAX_PULL_INTERVAL, MIN_PULL_INTERVAL};
use crate::error::ServiceError;
use crate::factory::ConnectorFactory;
use crate::mail_push::{MAX_IDLE_CONNECTIONS, MailPush, MailPushSettings};
use crate::metrics::Metrics;
use crate::profile_run::{RunContext, run_stored_profile};
use crate::push_subscriptions::SubscriptionSettings;
use crate::schedule_policy::SchedulePolicy;
use crate::triggers::ChangeWatcher;

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Names this worker in leases; unique per process.
    pub worker_id: String,
    pub max_concurrent_runs: usize,
    pub lease: Duration,
    pub poll: Duration,
    pub shutdown_grace: Duration,
    pub policy: SchedulePolicy,
    /// Push from the mailbox: IDLE watches (R-TRACK-MAIL-11).
    pub mail_push: MailPushSettings,
    /// Push from the groupware server: change notification subscriptions
    /// (R-SCHED-2); off until `server.public_url` is set.
    pub subscriptions: SubscriptionSettings,
    /// How long finished run reports are kept (R-WEB-11); `None`: for ever.
    pub run_report_retention: Option<chrono::Duration>,
}

impl SchedulerSettings {
    /// From `[scheduler]`, checked; an empty `worker_id` becomes host-pid-random.
    pub fn from_config(c: &SchedulerConfig) -> Result<SchedulerSettings, ServiceError> {
        let bad = |key: &str, message: &str| ServiceError::Config {
            key: format!("scheduler.{key}"),
            message: message.to_string(),
        };
        if !(1..=MAX_CONCURRENT_RUNS).contains(&c.max_concurrent_runs) {
            return Err(bad(
                "max_concurrent_runs",
                &format!("must be 1 to {MAX_CONCURRENT_RUNS}"),
            ));
        }
        if !(3..=MAX_LEASE_SECS).contains(&c.lease_secs) {
            return Err(bad(
                "lease_secs",
                &format!("must be 3 (it is renewed every third of it) to {MAX_LEASE_SECS} (a day)"),
            ));
        }
        if c.poll_millis < 50 || c.poll_millis > 1000 {
            return Err(bad(
                "poll_millis",
                "must be 50 to 1000: CRM changes must trigger within a second (R-SCHED-2)",
            ));
        }
        let interval = Duration::from_secs(c.default_pull_interval_secs);
        if !(MIN_PULL_INTERVAL..=MAX_PULL_INTERVAL).contains(&interval) {
            return Err(bad(
                "default_pull_interval_secs",
                &format!(
                    "must be {} to {} (R-SCHED-1)",
                    MIN_PULL_INTERVAL.as_secs(),
                    MAX_PULL_INTERVAL.as_secs()
                ),
            ));
        }
        if c.max_idle_connections > MAX_IDLE_CONNECTIONS {
            return Err(bad(
                "max_idle_connections",
                &format!("must be 0 (no push from the mailbox) to {MAX_IDLE_CONNECTIONS}"),
            ));
        }
        if c.run_report_days > MAX_RUN_REPORT_DAYS {
            return Err(bad(
                "run_report_days",
                &format!("must be 0 (keep for ever) to {MAX_RUN_REPORT_DAYS}"),
            ));
        }
        if c.shutdown_grace_secs > MAX_SHUTDOWN_GRACE_SECS {
            return Err(bad(
                "shutdown_grace_secs",
                &format!("must be 0 to {MAX_SHUTDOWN_GRACE_SECS}"),
            ));
        }
        Ok(SchedulerSettings {
            worker_id: if c.worker_id.trim().is_empty() {
                default_worker_id()
            } else {
                c.worker_id.trim().to_string()
            },
            max_concurrent_runs: c.max_concurrent_runs as usize,
            lease: Duration::from_secs(c.lease_secs),
            poll: Duration::from_millis(c.poll_millis),
            shutdown_grace: Duration::from_secs(c.shutdown_grace_secs),
            policy: SchedulePolicy::default(),
            mail_push: MailPushSettings {
                max_idle_connections: c.max_idle_connections as usize,
                ..MailPushSettings::default()
            },
            subscriptions: SubscriptionSettings::default(),
            run_report_retention: (c.run_report_days > 0).then(|| chrono::Duration::days(c.run_report_days as i64)),
        })
    }
}

/// `scheduler.max_concurrent_runs` at most (R-CFG-DAV-2: every number has a range).
pub const MAX_CONCURRENT_RUNS: u64 = 256;
/// `scheduler.run_report_days` at most: ten years.
pub const MAX_RUN_REPORT_DAYS: u64 = 3650;
/// How often a scheduler deletes expired run reports, on its clock.
const EXPIRY_EVERY: chrono::Duration = chrono::Duration::hours(1);
/// `scheduler.lease_secs` at most: a day.
pub const MAX_LEASE_SECS: u64 = 86_400;
/// `scheduler.shutdown_grace_secs` at most: an hour.
pub const MAX_SHUTDOWN_GRACE_SECS: u64 = 3600;

fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "crmsync".into());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &unique[..8])
}

/// How a scheduled run ended, as [`Scheduler::subscribe`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunResult {
    Finished {
        outcome: RunOutcome,
        run_id: Option<String>,
    },
    Failed {
        message: String,
        transient: bool,
    },
    /// Stopped at shutdown after the grace period; due again at once.
    Abandoned,
    /// Another worker took the profile over after the lease expired.
    LeaseLost,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub profile: String,
    pub worker: String,
    pub result: RunResult,
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    /// Profiles that CRM changes touched (R-SCHED-2).
    pub triggered: BTreeSet<String>,
    /// Profiles whose run this tick started.
    pub started: Vec<String>,
    /// Runs stopped because their lease was lost.
    pub lost: Vec<String>,
    /// Run reports this tick deleted as expired (R-WEB-11).
    pub expired_runs: u64,
}

/// The parts a scheduler is made of.
pub struct SchedulerParts {
    pub catalog: ProfileCatalog,
    pub factory: Arc<dyn ConnectorFactory>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub settings: SchedulerSettings,
}

/// Cheap to clone: clones drive the same scheduler.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: ProfileCatalog,
    factory: Arc<dyn ConnectorFactory>,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    settings: SchedulerSettings,
    /// Runs in progress in this process, by profile. Whoever removes an
    /// entry (the run at its end, or a stop) does that run's bookkeeping.
    running: Mutex<HashMap<String, AbortHandle>>,
    idle: Notify,
    /// A run ended: its slot is free, claim again without waiting for the
    /// poll (R-SCHED-5).
    slot_freed: Notify,
    /// A profile was marked due from outside a tick (a groupware
    /// notification, a watched mail folder): claim without waiting for the poll.
    wake: Notify,
    /// A notification asked for a subscription to be renewed or created
    /// again: pass over the subscriptions without waiting for `refresh`.
    subscriptions_wake: Notify,
    mail_push: MailPush,
    watcher: tokio::sync::Mutex<ChangeWatcher>,
    last_renewal: Mutex<Option<DateTime<Utc>>>,
    /// When run reports were last expired (R-WEB-11).
    last_expiry: Mutex<Option<DateTime<Utc>>>,
    tick_lock: tokio::sync::Mutex<()>,
    stopping: AtomicBool,
    events: broadcast::Sender<RunEvent>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("worker", &self.inner.settings.worker_id)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// Starts watching the change log from now; nothing runs until a tick.
    pub async fn new(parts: SchedulerParts) -> Result<Scheduler, ServiceError> {
        let watcher = ChangeWatcher::from_now(parts.catalog.store()).await?;
        let (events, _) = broadcast::channel(4096);
        Ok(Scheduler {
            inner: Arc::new(Inner {
                catalog: parts.catalog,
                factory: parts.factory,
                clock: parts.clock,
                metrics: parts.metrics,
                settings: parts.settings,
                running: Mutex::new(HashMap::new()),
                idle: Notify::new(),
                slot_freed: Notify::new(),
                wake: Notify::new(),
                subscriptions_wake: Notify::new(),
                mail_push: MailPush::default(),
                watcher: tokio::sync::Mutex::new(watcher),
                last_renewal: Mutex::new(None),
                last_expiry: Mutex::new(None),
                tick_lock: tokio::sync::Mutex::new(()),
                stopping: AtomicBool::new(false),
                events,
            }),
        })
    }

    pub fn worker_id(&self) -> &str {
        &self.inner.settings.worker_id
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn catalog(&self) -> &ProfileCatalog {
        &self.inner.catalog
    }

    pub(crate) fn mail_push(&self) -> &MailPush {
        &self.inner.mail_push
    }

    pub(crate) fn mail_push_settings(&self) -> &MailPushSettings {
        &self.inner.settings.mail_push
    }

    pub(crate) fn subscription_settings(&self) -> &SubscriptionSettings {
        &self.inner.settings.subscriptions
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    pub(crate) fn lease(&self) -> Duration {
        self.inner.settings.lease
    }

    /// Asks for a pass over the change notification subscriptions now (a
    /// notification asked for a renewal or a new subscription).
    pub fn wake_subscriptions(&self) {
        // One stored permit: a request during a pass still wakes the next.
        self.inner.subscriptions_wake.notify_one();
    }

    pub(crate) async fn subscriptions_wanted(&self) {
        self.inner.subscriptions_wake.notified().await;
    }

    /// Every run's end, in this process.
    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.inner.events.subscribe()
    }

    /// Profiles running in this process now.
    pub fn running(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .running
            .lock()
            .expect("running lock")
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Marks profiles due now because their groupware sent a notification
    /// (R-SCHED-2; the push endpoint calls this). Returns how many were
    /// triggered (profiles with push off are not).
    pub async fn notify(&self, profiles: &[String]) -> Result<u64, ServiceError> {
        let n = self
            .inner
            .catalog
            .store()
            .catalog()
            .trigger_profiles(profiles, self.inner.clock.now())
            .await?;
        self.inner.metrics.triggered(n);
        if n > 0 {
            // One stored permit: a trigger during a tick still wakes the next.
            self.inner.wake.notify_one();
        }
        Ok(n)
    }

    /// One round: triggers, lease renewal, claims. See the module docs.
    pub async fn tick(&self) -> Result<TickReport, ServiceError> {
        let _one_at_a_time = self.inner.tick_lock.lock().await;
        let inner = &self.inner;
        let store = inner.catalog.store();
        let mut report = TickReport::default();
        let now = inner.clock.now();

        report.triggered = inner.watcher.lock().await.poll(store).await?;
        if !report.triggered.is_empty() {
            let names: Vec<String> = report.triggered.iter().cloned().collect();
            let n = store.catalog().trigger_profiles(&names, now).await?;
            inner.metrics.triggered(n);
        }

        report.lost = self.renew_leases(now).await?;
        report.expired_runs = self.expire_run_reports(now).await;

        if inner.stopping.load(Ordering::SeqCst) {
            return Ok(report);
        }
        let free = inner
            .settings
            .max_concurrent_runs
            .saturating_sub(inner.running.lock().expect("running lock").len());
        if free == 0 {
            return Ok(report);
        }
        let until = now + chrono_duration(inner.settings.lease);
        let claimed = store
            .catalog()
            .claim_due_profiles(&inner.settings.worker_id, now, until, free as u32)
            .await?;
        for row in claimed {
            if self.start_run(row.clone(), now) {
                report.started.push(row.definition.name);
            }
        }
        Ok(report)
    }

    /// Ticks until `shutdown` completes, then shuts down gracefully. A tick
    /// comes as soon as a CRM change may have been committed (R-PUSH-1) or a
    /// run ended and freed its slot (R-SCHED-5), and at the latest every
    /// `poll`: the poll is the fallback that catches what no signal reported
    /// (another process on SQLite, a NOTIFY lost across a reconnect).
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.worker_id(), "scheduler started");
        // Subscribed before the first tick: a change committed during it
        // wakes the next one.
        let mut changes = self.inner.catalog.store().change_events();
        // Push from the mailbox (R-TRACK-MAIL-11) beside the ticks.
        let mail_push = (self.inner.settings.mail_push.max_idle_connections > 0)
            .then(|| tokio::spawn(self.clone().keep_mail_push()).abort_handle());
        // Push from the groupware server (R-SCHED-2); also deletes the
        // subscriptions held once `public_url` is cleared.
        let subscriptions = tokio::spawn(self.clone().keep_subscriptions()).abort_handle();
        loop {
            if let Err(e) = self.tick().await {
                // A database hiccup must not end the scheduler: the next tick retries.
                tracing::warn!(worker = %self.worker_id(), error = %e, transient = e.is_transient(), "scheduler tick failed");
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.inner.settings.poll) => {}
                _ = changes.changed() => {}
                _ = self.inner.slot_freed.notified() => {}
                _ = self.inner.wake.notified() => {}
            }
        }
        drop(changes);
        if let Some(task) = mail_push {
            task.abort();
        }
        subscriptions.abort();
        self.inner.mail_push.stop_all();
        self.inner.metrics.idle_watches(0);
        self.shutdown().await;
    }

    /// Stops claiming, lets runs finish within the grace period, abandons the
    /// rest (their leases are given back, due at once).
    ///
    /// The leases of the runs still going are renewed during the grace
    /// period as during ticks (R-SVC-6): the grace may be longer than what is
    /// left of a lease, and a lease that lapsed would let another worker start
    /// the same profile while this run still finishes (R-SCHED-3).
    pub async fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + self.inner.settings.shutdown_grace;
        loop {
            let step = (self.inner.settings.poll).min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            if tokio::time::timeout(step, self.wait_idle()).await.is_ok() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                for name in self.running() {
                    self.stop_run(&name, RunResult::Abandoned).await;
                }
                break;
            }
            // Only due every third of the lease; a lost lease stops its run.
            let _one_at_a_time = self.inner.tick_lock.lock().await;
            if let Err(e) = self.renew_leases(self.inner.clock.now()).await {
                tracing::warn!(worker = %self.worker_id(), error = %e, "renewing leases during shutdown failed");
            }
        }
        tracing::info!(worker = %self.worker_id(), "scheduler stopped");
    }

    /// Waits until no run is in progress in this process.
    pub async fn wait_idle(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.running.lock().expect("running lock").is_empty() {
                return;
            }
            idle.await;
        }
    }

    /// R-WEB-11: deletes the run reports older than the retention, at most
    /// once per [`EXPIRY_EVERY`] on the scheduler's clock. A failure is
    /// logged and tried again an hour later: it must not stop the runs.
    async fn expire_run_reports(&self, now: DateTime<Utc>) -> u64 {
        let Some(retention) = self.inner.settings.run_report_retention else {
            return 0;
        };
        {
            let mut last = self.inner.last_expiry.lock().expect("expiry lock");
            if last.is_some_and(|t| now - t < EXPIRY_EVERY) {
                return 0;
            }
            *last = Some(now);
        }
        match self
            .inner
            .catalog
            .store()
            .sync_state()
            .expire_runs(now - retention)
            .await
        {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(runs = n, "deleted expired run reports");
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not delete expired run reports; trying again in an hour");
                0
            }
        }
    }

    async fn renew_leases(&self, now: DateTime<Utc>) -> Result<Vec<String>, ServiceError> {
        let inner = &self.inner;
        let due = {
            let last = inner.last_renewal.lock().expect("renewal lock");
            last.is_none_or(|t| now - t >= chrono_duration(inner.settings.lease / 3))
        };
        let names = self.running();
        if !due || names.is_empty() {
            return Ok(Vec::new());
        }
        let held = inner
            .catalog
            .store()
            .catalog()
            .renew_leases(
                &inner.settings.worker_id,
                &names,
                now + chrono_duration(inner.settings.lease),
            )
            .await?;
        *inner.last_renewal.lock().expect("renewal lock") = Some(now);
        let mut lost = Vec::new();
        for name in names.into_iter().filter(|n| !held.contains(n)) {
            tracing::warn!(profile = %name, worker = %inner.settings.worker_id, "lease lost to another worker: stopping the run");
            if self.stop_run(&name, RunResult::LeaseLost).await {
                lost.push(name);
            }
        }
        Ok(lost)
    }

    /// Starts the run of a claimed profile unless it already runs here.
    fn start_run(&self, row: ProfileRow, now: DateTime<Utc>) -> bool {
        let name = row.definition.name.clone();
        let mut running = self.inner.running.lock().expect("running lock");
        if running.contains_key(&name) {
            // Our own lease lapsed and we re-claimed it: the run goes on.
            return false;
        }
        let lag = (now - row.status.next_run_at).to_std().unwrap_or_default();
        self.inner.metrics.run_started(lag);
        let span = tracing::info_span!("profile_run", profile = %name, worker = %self.inner.settings.worker_id);
        let this = self.clone();
        let handle = tokio::spawn(async move { this.run_claimed(row).await }.instrument(span));
        running.insert(name, handle.abort_handle());
        true
    }

    async fn run_claimed(&self, row: ProfileRow) {
        let inner = &self.inner;
        let started = Instant::now();
        let ctx = RunContext {
            catalog: &inner.catalog,
            factory: &*inner.factory,
            clock: &*inner.clock,
            metrics: &inner.metrics,
        };
        // A run that panics fails that run only: its lease is given back and
        // its slot freed like any failure's, and the process goes on (issue 12).
        let result = match AssertUnwindSafe(run_stored_profile(&ctx, &row)).catch_unwind().await {
            Ok(result) => result,
            // Tokio panics a task that uses a timer or I/O while its runtime
            // shuts down (the process is exiting, or a test killed this
            // worker): that is no failure of the run, and giving the lease
            // back now would hand the profile on before a dead worker's lease
            // ends. Let the task end as it would have.
            Err(panic) if panic_message(panic.as_ref()).contains("being shutdown") => std::panic::resume_unwind(panic),
            Err(panic) => Err(ServiceError::RunPanicked {
                profile: row.definition.name.clone(),
                message: panic_message(panic.as_ref()),
            }),
        };
        let name = &row.definition.name;
        // Giving the lease back and leaving `running` happen under the tick
        // lock, so no tick sees the profile released (and perhaps claims it
        // again) while it still counts as running here.
        let _no_tick = inner.tick_lock.lock().await;
        let now = inner.clock.now();
        let interval = Duration::from_secs(row.definition.pull_interval_secs.max(1) as u64);
        let (release, event, outcome_label) = match result {
            Ok(report) => {
                let next = inner.settings.policy.after_success(now, interval);
                tracing::info!(outcome = ?report.outcome, "profile run finished");
                (
                    RunRelease {
                        finished_at: now,
                        succeeded: true,
                        next_run_at: next.at,
                        state: next.state,
                        state_reason: None,
                        failures: 0,
                    },
                    RunResult::Finished {
                        outcome: report.outcome,
                        run_id: report.run_id.clone(),
                    },
                    outcome_label(report.outcome),
                )
            }
            Err(e) => {
                let next = inner.settings.policy.after_failure(now, interval, row.status.failures);
                let transient = e.is_transient();
                inner.metrics.error(transient);
                tracing::warn!(error = %e, transient, failures = next.failures, retry_at = %next.at, "profile run failed");
                (
                    RunRelease {
                        finished_at: now,
                        succeeded: false,
                        next_run_at: next.at,
                        state: next.state,
                        state_reason: Some(e.to_string()),
                        failures: next.failures,
                    },
                    RunResult::Failed {
                        message: e.to_string(),
                        transient,
                    },
                    "failed",
                )
            }
        };
        // R-WEB-20: a run a push woke records how long after the notice it
        // ended, before its end is announced; a failed run served nothing.
        if let (RunResult::Finished { run_id: Some(id), .. }, Some(woken)) = (&event, row.status.run_woken_at) {
            let latency = now - woken;
            if let Err(e) = inner
                .catalog
                .store()
                .sync_state()
                .record_push_latency(id, latency)
                .await
            {
                tracing::warn!(error = %e, "could not record the run's push latency");
            }
        }
        match inner
            .catalog
            .store()
            .catalog()
            .release_profile(name, &inner.settings.worker_id, &release)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the lease had passed to another worker before the run ended"),
            // The lease then simply expires; another worker picks the profile up.
            Err(e) => tracing::warn!(error = %e, "could not give the lease back"),
        }
        if inner.running.lock().expect("running lock").remove(name).is_none() {
            return; // stopped meanwhile; the stopper did the bookkeeping
        }
        inner.metrics.run_ended(outcome_label, started.elapsed());
        self.finish(name, event);
    }

    /// Stops a run in progress. True when it was running here.
    async fn stop_run(&self, name: &str, why: RunResult) -> bool {
        let Some(handle) = self.inner.running.lock().expect("running lock").remove(name) else {
            return false;
        };
        handle.abort();
        self.inner.metrics.run_ended(
            if why == RunResult::LeaseLost {
                "lease-lost"
            } else {
                "abandoned"
            },
            Duration::ZERO,
        );
        if why == RunResult::Abandoned {
            let now = self.inner.clock.now();
            if let Err(e) = self
                .inner
                .catalog
                .store()
                .catalog()
                .abandon_lease(name, &self.inner.settings.worker_id, now)
                .await
            {
                tracing::warn!(profile = %name, error = %e, "could not give an abandoned lease back; it expires");
            }
        }
        self.finish(name, why);
        true
    }

    fn finish(&self, name: &str, result: RunResult) {
        // Nobody listening is fine.
        let _ = self.inner.events.send(RunEvent {
            profile: name.to_string(),
            worker: self.inner.settings.worker_id.clone(),
            result,
        });
        self.inner.idle.notify_waiters();
        // One stored permit: a run that ends mid-tick still wakes the next.
        self.inner.slot_freed.notify_one();
    }
}

/// The text of a panic's payload (`panic!("…")` carries a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The metrics label of an outcome: the status store's name for it.
fn outcome_label(outcome: RunOutcome) -> &'static str {
    crmsync_store::status::RunState::from(outcome).as_str()
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
