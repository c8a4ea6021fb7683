//! R-PUSH-1: a CRM change wakes the scheduler at once, through an in-process
//! signal (every backend) and PostgreSQL's LISTEN/NOTIFY (other processes);
//! the poll stays as the fallback for what no signal reported.
//!
//! The poll is made an hour long where a test proves a wake-up: the run can
//! then only come from the signal. Waits are on run events; their time-outs
//! only turn a hang into a failure.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use crmsync_model::User;
use crmsync_service::{Clock as _, DefaultConnectorFactory, ManualClock, RunEvent, RunResult, Scheduler};
use crmsync_store::Store;
use tokio::sync::broadcast::Receiver;

use tokio::task::JoinHandle;

const HOUR: Duration = Duration::from_secs(3600);

struct Running {
    scheduler: Scheduler,
    events: Receiver<RunEvent>,
    stop: tokio::sync::oneshot::Sender<()>,
    looping: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.looping.await.unwrap();
    }
}

/// A profile for `anna` (push on, pulled hourly), a scheduler looping with
/// `poll`, and its first run (due at creation) done.
async fn anna_synced(store: &Store, dir: &std::path::Path, poll: Duration) -> (User, Running) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let anna = user(store, "anna").await;
    save(store, &vdir_profile("anna-p", &anna, dir, HOUR), clock.now()).await;
    let mut s = settings("w1", Duration::from_secs(60), 4);
    s.poll = poll;
    let scheduler = scheduler_with(store, clock, Arc::new(DefaultConnectorFactory), s).await;
    let mut events = scheduler.subscribe();
    let (stop, looping) = looping(&scheduler);
    let first = next_events(&mut events, 1).await;
    assert!(matches!(first[0].result, RunResult::Finished { .. }), "{first:?}");
    (
        anna,
        Running {
            scheduler,
            events,
            stop,
            looping,
        },
    )
}

/// Waits for the profile's next run and checks it synced `last`'s card.
async fn synced_after_wake(running: &mut Running, dir: &std::path::Path, cards: usize) {
    let ended = next_events(&mut running.events, 1).await;
    assert!(matches!(ended[0].result, RunResult::Finished { .. }), "{ended:?}");
    assert_eq!(vdir_files(&dir.join("anna-p"), "contacts").len(), cards);
    assert!(
        running
            .scheduler
            .metrics()
            .render()
            .contains("crmsync_triggers_total 1")
    );
}

// A CRM write of the same process (the API and the scheduler share the
// store, as in `crmsync serve`) wakes the scheduler without a poll.
both_backends!(r_push_1_a_crm_write_wakes_the_scheduler_without_a_poll, |store| {
    let dir = tempfile::tempdir().unwrap();
    let (anna, mut running) = anna_synced(&store, dir.path(), HOUR).await;
    contact(&store, &anna, "Lovelace").await;
    synced_after_wake(&mut running, dir.path(), 1).await;
    running.stop().await;
});

// PostgreSQL: a write by another process (here another pool, sharing
// nothing in memory) reaches the scheduler through LISTEN/NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_push_1_a_write_of_another_process_wakes_through_notify() {
    let db = pg_database().await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (anna, mut running) = anna_synced(&store, dir.path(), HOUR).await;
    let other = Store::connect(db.url()).await.unwrap();
    contact(&other, &anna, "Lovelace").await;
    synced_after_wake(&mut running, dir.path(), 1).await;
    running.stop().await;
    other.close().await;
}

// SQLite: another process's write sends no signal; the poll still finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_push_2_the_poll_catches_a_change_no_signal_reported() {
    let db = TestDatabase::sqlite();
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (anna, mut running) = anna_synced(&store, dir.path(), Duration::from_millis(50)).await;
    let other = Store::connect(db.url()).await.unwrap();
    contact(&other, &anna, "Lovelace").await;
    synced_after_wake(&mut running, dir.path(), 1).await;
    running.stop().await;
    other.close().await;
}
