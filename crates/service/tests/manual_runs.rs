//! Runs started by hand hold the profile's lease (R-SCHED-3, R-SVC-13), on
//! SQLite and PostgreSQL, against a real scheduler on a hand-driven clock.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::gate::GatedFactory;
use common::*;
use crmsync_service::{Clock as _, ManualClock, ServiceError, run_holding_lease};

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

        let mut ran = false;
        let refused = run_holding_lease(&store, &*clock, "busy", "manual-1", LEASE, async { ran = true }).await;
        match refused {
            Err(ServiceError::ProfileBusy { profile, worker, until }) => {
                assert_eq!((profile.as_str(), worker.as_str()), ("busy", "w1"));
                assert!(until > clock.now());
                let message = ServiceError::ProfileBusy { profile, worker, until }.to_string();
                assert!(message.contains("w1") && message.contains("try again"), "{message}");
            }
            other => panic!("expected ProfileBusy, got {other:?}"),
        }
        assert!(!ran, "the refused run never started");
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

        let held_by = run_holding_lease(&store, &*clock, "by-hand", "manual-1", LEASE, async {
            let tick = scheduler.tick().await.unwrap();
            assert!(tick.started.is_empty(), "due, but held by the manual run: {tick:?}");
            store
                .catalog()
                .profile_row("by-hand")
                .await
                .unwrap()
                .unwrap()
                .status
                .lease_owner
        })
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
    let out = run_holding_lease(&store, &clock, "only-in-config", "manual-1", LEASE, async { 7 })
        .await
        .unwrap();
    assert_eq!(out, 7);
});
