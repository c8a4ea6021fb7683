//! R-SCHED-3: three workers, one PostgreSQL database, 50 vdir profiles.
//!
//! Each worker is a scheduler with its own tokio runtime and its own
//! connection pool, started from a plain test thread. Why not three `crmsync
//! worker` processes: this crate's tests cannot build the CLI binary (the CLI
//! depends on this crate), and what the database sees is the same: three
//! independent clients that share nothing but the rows. A worker is killed by
//! shutting its runtime down in the background: its tasks stop at their next
//! await, no code of its runs or of the scheduler runs again (no lease given
//! back, no run finished), its connections close; exactly a dead process as
//! far as PostgreSQL and the other workers can tell.
//!
//! The three share one hand-driven clock: a lease expires when the test moves
//! the clock past it, never because a loaded machine delayed a renewal, and
//! "not taken over before the lease expired" is checked by asking the
//! survivors to claim while the clock still stands before the expiry.

use crate::common;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::gate::GatedFactory;
use common::*;
use crmsync_service::{Clock as _, ManualClock, Metrics, ProfileCatalog, Scheduler, SchedulerParts};
use crmsync_store::Store;
use tokio::runtime::Runtime;

const PROFILES: usize = 50;
/// On the shared hand-driven clock: only the test's `advance` expires it.
const LEASE: Duration = Duration::from_secs(60);
/// Runs at once per worker.
const SLOTS: usize = 4;

struct Worker {
    runtime: Option<Runtime>,
    scheduler: Scheduler,
}

impl Worker {
    fn start(url: &str, id: &str, factory: Arc<GatedFactory>, clock: Arc<ManualClock>) -> Worker {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let scheduler = runtime.block_on(async {
            let store = Store::connect(url).await.expect("worker connects");
            Scheduler::new(SchedulerParts {
                catalog: ProfileCatalog::new(store, None),
                factory,
                clock,
                metrics: Metrics::new(),
                settings: settings(id, LEASE, SLOTS),
            })
            .await
            .expect("worker scheduler")
        });
        let looping = scheduler.clone();
        runtime.spawn(async move { looping.run_until(std::future::pending()).await });
        Worker {
            runtime: Some(runtime),
            scheduler,
        }
    }

    /// One scheduler round run by the test, beside the worker's own loop.
    fn tick(&self) -> Vec<String> {
        let runtime = self.runtime.as_ref().expect("alive");
        runtime.block_on(self.scheduler.tick()).expect("tick").started
    }

    fn kill(mut self) {
        self.runtime.take().unwrap().shutdown_background();
    }

    fn stop(mut self) {
        let runtime = self.runtime.take().unwrap();
        runtime.block_on(self.scheduler.shutdown());
        runtime.shutdown_background();
    }
}

/// Finished runs per profile, oldest first: (started, finished).
async fn finished_runs(store: &Store, names: &[String]) -> BTreeMap<String, Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut all = BTreeMap::new();
    for name in names {
        let mut runs: Vec<_> = store
            .sync_state()
            .runs(name, 100)
            .await
            .unwrap()
            .into_iter()
            // A dead worker's run is closed as `interrupted` by the run that
            // takes over (R-SYNC-RUNS-1): it is no run that finished.
            .filter(|r| r.outcome != crmsync_store::status::RunState::Interrupted)
            .filter_map(|r| r.finished_at.map(|f| (r.started_at, f)))
            .collect();
        runs.sort();
        all.insert(name.clone(), runs);
    }
    all
}

/// Polls until `done` holds; the limit only turns a hang into a failure.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + Duration::from_secs(180);
    while !done().await {
        assert!(tokio::time::Instant::now() < give_up, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Leases held now: profile → (owner, until).
async fn leases(store: &Store) -> BTreeMap<String, (String, DateTime<Utc>)> {
    store
        .catalog()
        .profile_rows(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| Some((r.definition.name, (r.status.lease_owner?, r.status.lease_until?))))
        .collect()
}

fn held_by(leases: &BTreeMap<String, (String, DateTime<Utc>)>, worker: &str) -> BTreeMap<String, DateTime<Utc>> {
    leases
        .iter()
        .filter(|(_, (owner, _))| owner == worker)
        .map(|(name, (_, until))| (name.clone(), *until))
        .collect()
}

#[test]
fn r_sched_3_three_workers_share_fifty_profiles_and_take_over_a_dead_ones() {
    let test = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = test.block_on(pg_database());
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (store, names) = test.block_on(async {
        let store = Store::connect(db.url()).await.unwrap();
        store.migrate().await.unwrap();
        let mut names = Vec::new();
        for i in 0..PROFILES {
            let u = user(&store, &format!("user{i:02}")).await;
            contact(&store, &u, &format!("Contact{i:02}")).await;
            let def = vdir_profile(&format!("p{i:02}"), &u, dir.path(), Duration::from_secs(3600));
            save(&store, &def, clock.now()).await;
            names.push(def.name);
        }
        (store, names)
    });

    let factories = [GatedFactory::new(&[]), GatedFactory::new(&[]), GatedFactory::new(&[])];
    let victim = Worker::start(db.url(), "w1", factories[0].clone(), clock.clone());
    let w2 = Worker::start(db.url(), "w2", factories[1].clone(), clock.clone());
    let w3 = Worker::start(db.url(), "w3", factories[2].clone(), clock.clone());

    // Every profile is served once.
    test.block_on(eventually("every profile ran once", || async {
        finished_runs(&store, &names).await.values().all(|r| !r.is_empty())
    }));

    // Every worker's next runs hang; all profiles are due again; each worker
    // fills its slots and holds the leases while its runs hang (so the
    // victim gets its share however fast the others are). Then it dies.
    for f in &factories {
        f.gate_all.store(true, Ordering::SeqCst);
    }
    test.block_on(store.catalog().trigger_profiles(&names, clock.now()))
        .unwrap();
    test.block_on(eventually("every worker holds its slots full of hung runs", || async {
        let held = leases(&store).await;
        ["w1", "w2", "w3"].iter().all(|w| held_by(&held, w).len() == SLOTS)
    }));
    assert_eq!(victim.scheduler.running().len(), SLOTS);
    victim.kill();
    // Its last renewal may have moved the expiry on: read it after the kill.
    let orphaned = held_by(&test.block_on(leases(&store)), "w1");
    assert_eq!(
        orphaned.len(),
        SLOTS,
        "a dead worker keeps its leases until they expire"
    );

    // The survivors' runs go on; everything but the orphans runs a second time.
    for f in &factories[1..] {
        f.gate_all.store(false, Ordering::SeqCst);
        f.open(PROFILES);
    }
    let others: Vec<String> = names.iter().filter(|n| !orphaned.contains_key(*n)).cloned().collect();
    test.block_on(eventually("every other profile ran twice", || async {
        finished_runs(&store, &others).await.values().all(|r| r.len() >= 2)
    }));
    test.block_on(eventually("the survivors are idle", || async {
        w2.scheduler.running().is_empty() && w3.scheduler.running().is_empty()
    }));
    // Before the orphans' leases expire no survivor takes them, however often it tries.
    for w in [&w2, &w3] {
        let started = w.tick();
        assert!(
            started.iter().all(|n| !orphaned.contains_key(n)),
            "{started:?} taken over while the dead worker's lease still ran"
        );
    }
    let held = test.block_on(leases(&store));
    assert_eq!(
        held_by(&held, "w1"),
        orphaned,
        "the orphans stay leased to the dead worker"
    );
    for name in orphaned.keys() {
        assert_eq!(
            test.block_on(finished_runs(&store, std::slice::from_ref(name)))[name].len(),
            1
        );
    }

    // The lease runs out: the survivors take the orphans over.
    let expiry = *orphaned.values().max().unwrap();
    clock.set(expiry + chrono::Duration::seconds(1));
    test.block_on(eventually("every profile ran twice", || async {
        finished_runs(&store, &names).await.values().all(|r| r.len() >= 2)
    }));
    let runs = test.block_on(finished_runs(&store, &names));
    for (name, runs) in &runs {
        for pair in runs.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "{name}: a run started at {} before the previous one finished at {}",
                pair[1].0,
                pair[0].1
            );
        }
        let folder = dir.path().join(name);
        assert_eq!(vdir_files(&folder, "contacts").len(), 1, "{name} synced its contact");
    }
    for name in orphaned.keys() {
        let all = test.block_on(store.sync_state().runs(name, 100)).unwrap();
        // The dead worker's run, if it got as far as writing its row, was
        // closed by the takeover (R-SYNC-RUNS-1): no row stays `running`.
        let hung: Vec<_> = all
            .iter()
            .filter(|r| r.outcome == crmsync_store::status::RunState::Interrupted)
            .collect();
        assert!(hung.len() <= 1, "{name}: one dead run at most: {all:?}");
        assert!(
            all.iter().all(|r| r.finished_at.is_some()),
            "{name}: no run row stays running: {all:?}"
        );
        let takeover = runs[name].last().unwrap();
        if let Some(dead) = hung.first() {
            assert!(takeover.0 >= dead.started_at);
        }
        let row = test.block_on(store.catalog().profile_row(name)).unwrap().unwrap();
        assert_ne!(row.status.lease_owner.as_deref(), Some("w1"));
    }

    w2.stop();
    w3.stop();
    test.block_on(async {
        store.close().await;
        db.drop_database().await.expect("drop the test database");
    });
}
