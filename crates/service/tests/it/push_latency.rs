//! R-WEB-20: a run a push woke records the time from the earliest notice it
//! serves (a CRM change the scheduler read, a groupware notification) to its
//! end, on the scheduler's clock; other runs record none. The runs are held
//! at a gate while the hand-driven clock moves, so the figures are exact.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::gate::GatedFactory;
use common::*;
use crmsync_service::{Clock as _, ManualClock, RunEvent, RunResult, Scheduler};
use crmsync_store::Store;
use tokio::sync::broadcast::Receiver;

const HOUR: Duration = Duration::from_secs(3600);

/// A push profile of anna's whose runs wait at a gate, its scheduler on a
/// hand-driven clock, and its first run (due at creation) done.
async fn gated_anna(
    store: &Store,
    dir: &std::path::Path,
) -> (
    crmsync_model::User,
    Arc<ManualClock>,
    Arc<GatedFactory>,
    Scheduler,
    Receiver<RunEvent>,
) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let anna = user(store, "anna").await;
    save(store, &vdir_profile("anna-p", &anna, dir, HOUR), clock.now()).await;
    let gate = GatedFactory::new(&["anna-p"]);
    let scheduler = scheduler_with(
        store,
        clock.clone(),
        gate.clone(),
        settings("w1", Duration::from_secs(60), 4),
    )
    .await;
    let mut events = scheduler.subscribe();
    assert_eq!(scheduler.tick().await.unwrap().started, vec!["anna-p"]);
    gate.open(1);
    next_events(&mut events, 1).await;
    (anna, clock, gate, scheduler, events)
}

/// Lets the run the last tick started end `held` after it reached the gate;
/// returns the run's push latency as stored, read the way the metrics page
/// reads it, and checks the first run (no push) has none.
async fn latency_of_next_run(
    store: &Store,
    clock: &ManualClock,
    gate: &GatedFactory,
    events: &mut Receiver<RunEvent>,
    held: chrono::Duration,
) -> Option<chrono::Duration> {
    gate.reached().await;
    clock.advance(held);
    gate.open(1);
    let ended = next_events(events, 1).await;
    let RunResult::Finished { run_id: Some(id), .. } = &ended[0].result else {
        panic!("the run should have finished: {ended:?}");
    };
    let runs = store
        .sync_state()
        .runs_since(Utc::now() - chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].push_latency, None, "the first run was due, not pushed");
    let run = store.sync_state().run(id).await.unwrap().unwrap();
    assert_eq!(runs[1].started_at, run.started_at, "the pushed run is the second");
    runs[1].push_latency
}

// A CRM edit on a push profile: noticed by the tick that reads it from the
// change log, the run it wakes ends 7 s later on the scheduler's clock.
both_backends!(r_web_20_a_crm_edit_records_the_runs_push_latency, |store| {
    let dir = tempfile::tempdir().unwrap();
    let (anna, clock, gate, scheduler, mut events) = gated_anna(&store, dir.path()).await;
    contact(&store, &anna, "Lovelace").await;
    let report = scheduler.tick().await.unwrap();
    assert!(report.triggered.contains("anna-p"), "{report:?}");
    assert_eq!(report.started, vec!["anna-p"]);
    let latency = latency_of_next_run(&store, &clock, &gate, &mut events, chrono::Duration::seconds(7)).await;
    assert_eq!(latency, Some(chrono::Duration::seconds(7)));
});

// Groupware notifications (the push route and the mail watches call
// `notify`): the earliest one not yet served counts.
both_backends!(r_web_20_the_earliest_notification_counts, |store| {
    let dir = tempfile::tempdir().unwrap();
    let (_anna, clock, gate, scheduler, mut events) = gated_anna(&store, dir.path()).await;
    let names = vec!["anna-p".to_string()];
    assert_eq!(scheduler.notify(&names).await.unwrap(), 1);
    clock.advance(chrono::Duration::seconds(2));
    assert_eq!(scheduler.notify(&names).await.unwrap(), 1);
    clock.advance(chrono::Duration::seconds(3));
    assert_eq!(scheduler.tick().await.unwrap().started, vec!["anna-p"]);
    let latency = latency_of_next_run(&store, &clock, &gate, &mut events, chrono::Duration::seconds(1)).await;
    assert_eq!(
        latency,
        Some(chrono::Duration::seconds(6)),
        "2 + 3 + 1 s from the first notice"
    );
});
