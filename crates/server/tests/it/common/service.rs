//! The harness's world in server mode: the router serves the database's
//! profiles and pushes go to a real scheduler on a hand-driven clock, so
//! tests tick it instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crmsync_server::{AppState, router};
use crmsync_service::{
    Clock as _, DefaultConnectorFactory, ManualClock, Metrics, ProfileCatalog, RunEvent, SchedulePolicy, Scheduler,
    SchedulerParts, SchedulerSettings, SecretKey, SubscriptionSettings,
};
use tokio::sync::broadcast::Receiver;

use super::World;

pub struct ServerMode {
    pub catalog: ProfileCatalog,
    pub scheduler: Scheduler,
    pub clock: Arc<ManualClock>,
}

/// Switches `w`'s router to server mode (a fresh security key).
pub async fn server_mode(w: &mut World) -> ServerMode {
    // The test operator lets users' profiles reach the peers on 127.0.0.1
    // (`[security] allowed_hosts`, R-SEC-1).
    server_mode_allowing(w, &["127.0.0.0/8"]).await
}

/// [`server_mode`] with `allowed` as the operator's `[security] allowed_hosts`.
pub async fn server_mode_allowing(w: &mut World, allowed: &[&str]) -> ServerMode {
    server_mode_with(w, allowed, Duration::from_millis(100)).await
}

/// [`server_mode`] whose scheduler polls (its fallback, R-PUSH-1) every `poll`.
pub async fn server_mode_polling(w: &mut World, poll: Duration) -> ServerMode {
    server_mode_with(w, &["127.0.0.0/8"], poll).await
}

async fn server_mode_with(w: &mut World, allowed: &[&str], poll: Duration) -> ServerMode {
    server_mode_full(w, allowed, poll, SubscriptionSettings::default()).await
}

/// [`server_mode`] whose scheduler holds change notification subscriptions
/// pointing at `public_url` (R-SCHED-2).
pub async fn server_mode_public(w: &mut World, public_url: &str) -> ServerMode {
    let subscriptions = SubscriptionSettings::with_public_url(public_url);
    server_mode_full(w, &["127.0.0.0/8"], Duration::from_millis(100), subscriptions).await
}

async fn server_mode_full(
    w: &mut World,
    allowed: &[&str],
    poll: Duration,
    subscriptions: SubscriptionSettings,
) -> ServerMode {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let allowed = crmsync_connector::AllowList::parse(allowed).expect("hosts or networks");
    let catalog = ProfileCatalog::new(w.store.clone(), Some(SecretKey::generate())).with_allowed_hosts(allowed);
    let scheduler = scheduler_on(&catalog, clock.clone(), "test-worker", poll, subscriptions).await;
    w.app = router(
        AppState::new(w.store.clone())
            .with_max_body_bytes(super::TEST_MAX_BODY)
            .with_catalog(catalog.clone())
            .with_scheduler(scheduler.clone())
            .with_clock(clock.clone()),
    );
    ServerMode {
        catalog,
        scheduler,
        clock,
    }
}

/// A scheduler named `worker` over `catalog`'s database on `clock`.
async fn scheduler_on(
    catalog: &ProfileCatalog,
    clock: Arc<ManualClock>,
    worker: &str,
    poll: Duration,
    subscriptions: SubscriptionSettings,
) -> Scheduler {
    Scheduler::new(SchedulerParts {
        catalog: catalog.clone(),
        factory: Arc::new(DefaultConnectorFactory),
        clock,
        metrics: Metrics::new(),
        settings: SchedulerSettings {
            worker_id: worker.into(),
            max_concurrent_runs: 4,
            lease: Duration::from_secs(60),
            poll,
            shutdown_grace: Duration::from_secs(5),
            policy: SchedulePolicy::default(),
            mail_push: crmsync_service::MailPushSettings::default(),
            subscriptions,
            run_report_retention: None,
        },
    })
    .await
    .expect("scheduler")
}

/// Another worker on the server's database (as a `crmsync worker`
/// process): its own scheduler, whose run events the server never sees.
pub async fn other_worker(mode: &ServerMode, worker: &str) -> Scheduler {
    let clock = Arc::new(ManualClock::new(mode.clock.now()));
    scheduler_on(
        &mode.catalog,
        clock,
        worker,
        Duration::from_millis(100),
        SubscriptionSettings::default(),
    )
    .await
}

/// The next `n` run ends. Waits on events, not on time: the time-out only
/// turns a hang into a failure, generous for a loaded machine.
pub async fn next_events(rx: &mut Receiver<RunEvent>, n: usize) -> Vec<RunEvent> {
    let mut got = Vec::new();
    while got.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(120), rx.recv())
            .await
            .expect("a run should have ended")
            .expect("event channel open");
        got.push(event);
    }
    got
}

/// Ticks until a tick starts nothing, letting each started run finish; the
/// runs' ends are returned.
pub async fn settle(s: &Scheduler, rx: &mut Receiver<RunEvent>) -> Vec<RunEvent> {
    let mut ended = Vec::new();
    for _ in 0..10 {
        let report = s.tick().await.expect("tick");
        if report.started.is_empty() {
            return ended;
        }
        ended.extend(next_events(rx, report.started.len()).await);
    }
    panic!("the scheduler kept starting runs: {ended:?}");
}
