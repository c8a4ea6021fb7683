//! Runs started by hand hold the profile's lease (R-SCHED-3, R-SVC-13), on
//! SQLite and PostgreSQL, against a real scheduler on a hand-driven clock.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::gate::GatedFactory;
use common::*;
use crmsync_service::{
    Clock as _, DefaultConnectorFactory, ManualClock, ProfileCatalog, RunResult, ServiceError, run_holding_lease,
};
use crmsync_store::StoreError;
use crmsync_sync::{RunOptions, SyncError, run_profile};

const LEASE: Duration = Duration::from_secs(60);

// R-SVC-13, R-SCHED-3: a manual run of a profile a worker is running is
// refused at once, naming the worker; nothing runs.
both_backends!(
    r_svc_13_manual_run_is_refused_while_a_worker_runs_the_profile,
    |store| {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let anna = user(&store, "anna").await;
        save(
            &store,
            &vdir_profile("busy", &anna, dir.path(), Duration::from_secs(3600)),
            clock.now(),
        )
        .await;
        let factory = GatedFactory::new(&["busy"]);
        let scheduler = scheduler_with(&store, clock.clone(), factory.clone(), settings("w1", LEASE, 4)).await;
        let mut rx = scheduler.subscribe();
        assert_eq!(scheduler.tick().await.unwrap().started, ["busy"]);

        let ran = std::sync::atomic::AtomicBool::new(false);
        let ran_ref = &ran;
        let refused = run_holding_lease(&store, &*clock, "busy", "manual-1", LEASE, move |_| async move {
            ran_ref.store(true, std::sync::atomic::Ordering::SeqCst)
        })
        .await;
        match refused {
            Err(ServiceError::ProfileBusy { profile, worker, until }) => {
                assert_eq!((profile.as_str(), worker.as_str()), ("busy", "w1"));
                assert!(until > clock.now());
                let message = ServiceError::ProfileBusy { profile, worker, until }.to_string();
                assert!(message.contains("w1") && message.contains("try again"), "{message}");
            }
            other => panic!("expected ProfileBusy, got {other:?}"),
        }
        assert!(!ran.into_inner(), "the refused run never started");
        factory.open(1);
        next_events(&mut rx, 1).await;
    }
);

// R-SVC-13, R-SCHED-3: while a manual run holds the lease the scheduler does
// not start the profile even when it is due; afterwards the lease is given
// back with the schedule untouched, and the scheduler runs it.
both_backends!(
    r_svc_13_scheduler_waits_for_a_manual_run_and_gets_the_lease_back,
    |store| {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let anna = user(&store, "anna").await;
        save(
            &store,
            &vdir_profile("by-hand", &anna, dir.path(), Duration::from_secs(3600)),
            clock.now(),
        )
        .await;
        let scheduler = manual_scheduler(&store, clock.clone()).await;
        let due = store
            .catalog()
            .profile_row("by-hand")
            .await
            .unwrap()
            .unwrap()
            .status
            .next_run_at;

        let scheduler_ref = &scheduler;
        let held_by = run_holding_lease(
            &store,
            &*clock,
            "by-hand",
            "manual-1",
            LEASE,
            move |fenced| async move {
                let tick = scheduler_ref.tick().await.unwrap();
                assert!(tick.started.is_empty(), "due, but held by the manual run: {tick:?}");
                fenced
                    .catalog()
                    .profile_row("by-hand")
                    .await
                    .unwrap()
                    .unwrap()
                    .status
                    .lease_owner
            },
        )
        .await
        .unwrap();
        assert_eq!(held_by.as_deref(), Some("manual-1"));

        let after = store.catalog().profile_row("by-hand").await.unwrap().unwrap().status;
        assert_eq!(
            (after.lease_owner, after.lease_until),
            (None, None),
            "the lease was given back"
        );
        assert_eq!(after.next_run_at, due, "a manual run leaves the schedule alone");
        assert_eq!(scheduler.tick().await.unwrap().started, ["by-hand"]);
    }
);

// R-SVC-13: a profile not stored in `sync_profiles` (config file, CLI
// without serve) has no lease and no scheduler to meet: it simply runs.
both_backends!(r_svc_13_unstored_profile_runs_without_a_lease, |store| {
    let clock = ManualClock::new(Utc::now());
    let out = run_holding_lease(&store, &clock, "only-in-config", "manual-1", LEASE, |_| async { 7 })
        .await
        .unwrap();
    assert_eq!(out, 7);
});

// R-SCHED-4, R-SVC-13: a manual run that paused past its lease while another
// worker took the profile over can write nothing more for it. The run holds
// at its first connector call (after its run row is written); its lease
// expires on the test clock; a second worker claims the profile and syncs
// it. When the paused run goes on, its next write is refused by the fence:
// the run fails saying so, and nothing of it lands after the pause.
both_backends!(
    r_sched_4_a_manual_run_paused_past_its_lease_writes_nothing_more,
    |store| {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let anna = user(&store, "anna").await;
        contact(&store, &anna, "Lovelace").await;
        save(
            &store,
            &vdir_profile("paused", &anna, dir.path(), Duration::from_secs(3600)),
            clock.now(),
        )
        .await;
        let gate = GatedFactory::new(&["paused"]);
        let profile = ProfileCatalog::new(store.clone(), None)
            .ready_profile_named(&*gate, "paused")
            .await
            .unwrap();
        let profile = &profile;
        let manual = run_holding_lease(&store, &*clock, "paused", "manual-1", LEASE, move |fenced| async move {
            run_profile(&fenced, profile, &RunOptions::default()).await
        });
        let takeover = async {
            gate.reached().await;
            let paused_token = store
                .catalog()
                .profile_row("paused")
                .await
                .unwrap()
                .unwrap()
                .status
                .lease_token;
            // The manual run's process stays paused; its lease runs out and
            // another worker claims the profile and syncs it.
            clock.advance(chrono::Duration::seconds(LEASE.as_secs() as i64 + 1));
            let other = scheduler_with(
                &store,
                clock.clone(),
                Arc::new(DefaultConnectorFactory),
                settings("w2", LEASE, 4),
            )
            .await;
            let mut rx = other.subscribe();
            assert_eq!(other.tick().await.unwrap().started, ["paused"]);
            let done = next_events(&mut rx, 1).await.remove(0);
            assert!(matches!(done.result, RunResult::Finished { .. }), "{done:?}");
            let now = store
                .catalog()
                .profile_row("paused")
                .await
                .unwrap()
                .unwrap()
                .status
                .lease_token;
            assert!(now > paused_token, "the other worker's claim moved the token on");
            let files = vdir_files(&dir.path().join("paused"), "contacts");
            let runs = store.sync_state().runs("paused", 10).await.unwrap();
            // The paused run goes on.
            gate.open(1);
            (files, runs)
        };
        let (outcome, (files, runs)) = tokio::join!(manual, takeover);

        match outcome {
            Ok(Err(e @ SyncError::Store(StoreError::Fenced { .. }))) => {
                let message = e.to_string();
                assert!(
                    message.contains("R-SCHED-4") && message.contains("another worker"),
                    "{message}"
                );
            }
            // On a machine so loaded that the lease's renewal (every 20 s of
            // wall time) came first, the run stops as the lease is lost:
            // that path writes nothing either.
            Err(ServiceError::LeaseLost { .. }) => {}
            other => panic!("the paused run must be refused, got {other:?}"),
        }
        assert_eq!(files.len(), 1, "the other worker wrote the contact");
        assert_eq!(
            vdir_files(&dir.path().join("paused"), "contacts"),
            files,
            "nothing of the paused run reached the mailbox"
        );
        let after = store.sync_state().runs("paused", 10).await.unwrap();
        assert_eq!(after, runs, "the paused run recorded nothing more");
        let status = store.catalog().profile_row("paused").await.unwrap().unwrap().status;
        assert_ne!(
            status.lease_owner.as_deref(),
            Some("manual-1"),
            "the paused run holds nothing"
        );
    }
);
