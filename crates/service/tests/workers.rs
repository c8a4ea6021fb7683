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

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::gate::GatedFactory;
use common::*;
use crmsync_service::{Metrics, ProfileCatalog, Scheduler, SchedulerParts, SystemClock};
use crmsync_store::Store;
use tokio::runtime::Runtime;

const PROFILES: usize = 50;
// Long enough that a renewal delayed by a loaded CI machine (renewals come
// every third of it) never lets a live lease lapse mid-test.
const LEASE: Duration = Duration::from_secs(10);

struct Worker {
    runtime: Option<Runtime>,
    scheduler: Scheduler,
}

impl Worker {
    fn start(url: &str, id: &str, factory: Arc<GatedFactory>) -> Worker {
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
                clock: Arc::new(SystemClock),
                metrics: Metrics::new(),
                settings: settings(id, LEASE, 4),
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

#[test]
fn r_sched_3_three_workers_share_fifty_profiles_and_take_over_a_dead_ones() {
    let test = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = test.block_on(PgDatabase::create());
    let dir = tempfile::tempdir().unwrap();
    let (store, names) = test.block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut names = Vec::new();
        for i in 0..PROFILES {
            let u = user(&store, &format!("user{i:02}")).await;
            contact(&store, &u, &format!("Contact{i:02}")).await;
            let def = vdir_profile(&format!("p{i:02}"), &u, dir.path(), Duration::from_secs(3600));
            save(&store, &def, Utc::now()).await;
            names.push(def.name);
        }
        (store, names)
    });

    let victim_factory = GatedFactory::new(&[]);
    let victim = Worker::start(&db.url, "w1", victim_factory.clone());
    let w2 = Worker::start(&db.url, "w2", GatedFactory::new(&[]));
    let w3 = Worker::start(&db.url, "w3", GatedFactory::new(&[]));

    // Every profile is served once.
    test.block_on(eventually("every profile ran once", || async {
        finished_runs(&store, &names).await.values().all(|r| !r.is_empty())
    }));

    // The victim's next runs hang; all profiles are due again; the victim
    // claims its share and holds the leases while it hangs. Then it dies.
    victim_factory.gate_all.store(true, Ordering::SeqCst);
    test.block_on(store.trigger_profiles(&names, Utc::now())).unwrap();
    let held_by_victim = |store: Store| async move {
        store
            .profile_rows(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.status.lease_owner.as_deref() == Some("w1"))
            .map(|r| (r.definition.name, r.status.lease_until.unwrap()))
            .collect::<BTreeMap<String, DateTime<Utc>>>()
    };
    test.block_on(eventually("the victim holds four hung runs", || {
        let store = store.clone();
        async move { held_by_victim(store).await.len() == 4 }
    }));
    assert_eq!(victim.scheduler.running().len(), 4);
    victim.kill();
    // Its last renewal may have moved the expiry on: read it after the kill.
    let orphaned = test.block_on(held_by_victim(store.clone()));
    assert_eq!(orphaned.len(), 4, "a dead worker keeps its leases until they expire");

    // Everything runs a second time; the orphans after their lease expired.
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
    for (name, expiry) in &orphaned {
        let all = test.block_on(store.runs(name, 100)).unwrap();
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
        assert!(
            takeover.0 >= *expiry,
            "{name}: taken over at {} although the dead worker's lease ran until {expiry}",
            takeover.0
        );
        let row = test.block_on(store.profile_row(name)).unwrap().unwrap();
        assert_ne!(row.status.lease_owner.as_deref(), Some("w1"));
    }

    w2.stop();
    w3.stop();
    test.block_on(async {
        store.close().await;
        db.drop_database().await;
    });
}
