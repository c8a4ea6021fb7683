//! The scheduler on a hand-driven clock, on SQLite and PostgreSQL: intervals
//! (R-SCHED-1), CRM triggers (R-SCHED-2), back-off, isolation of slow and
//! failing profiles, one run per profile at a time, shutdown.
//!
//! Time is moved with `ManualClock::advance` and the scheduler is driven by
//! `tick()`; runs are awaited through the scheduler's events. No test sleeps
//! through an interval.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::gate::GatedFactory;
use common::*;
use crmsync_model::ContactFields;
use crmsync_service::{Clock as _, ManualClock, ProfileCatalog, RunResult, SchedulePolicy};
use crmsync_sync::RunOutcome;

const MINUTE: chrono::Duration = chrono::Duration::minutes(1);

fn finished(events: &[crmsync_service::RunEvent]) -> Vec<String> {
    let mut names: Vec<String> = events
        .iter()
        .filter(|e| matches!(e.result, RunResult::Finished { .. }))
        .map(|e| e.profile.clone())
        .collect();
    names.sort();
    names
}

// R-SCHED-1: each profile is pulled on its own interval, counted by the
// scheduler's clock, never before the interval and at most the jitter after.
both_backends!(r_sched_1_each_profile_runs_on_its_own_interval, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let anna = user(&store, "anna").await;
    let hourly = vdir_profile("anna-hourly", &anna, dir.path(), Duration::from_secs(3600));
    let daily = vdir_profile("anna-daily", &anna, dir.path(), Duration::from_secs(24 * 3600));
    save(&store, &hourly, clock.now()).await;
    save(&store, &daily, clock.now()).await;
    let scheduler = manual_scheduler(&store, clock.clone()).await;
    let mut rx = scheduler.subscribe();
    let catalog = ProfileCatalog::new(store.clone(), None);

    let tick = scheduler.tick().await.unwrap();
    assert_eq!(tick.started.len(), 2, "both are due at creation: {tick:?}");
    assert_eq!(finished(&next_events(&mut rx, 2).await), ["anna-daily", "anna-hourly"]);
    let start = clock.now();
    let bound = SchedulePolicy::default().jitter_bound(Duration::from_secs(3600));
    let view = catalog.view("anna-hourly").await.unwrap().unwrap();
    let waited = (view.next_run_at - view.last_run_at.unwrap()).to_std().unwrap();
    assert!(
        waited >= Duration::from_secs(3600) && waited <= Duration::from_secs(3600) + bound,
        "next pull one interval plus jitter later, got {waited:?}"
    );

    clock.advance(MINUTE * 59);
    assert!(
        scheduler.tick().await.unwrap().started.is_empty(),
        "nothing is due before its interval"
    );

    clock.set(start + MINUTE * 66); // interval + the largest jitter (5 min) + 1 min
    assert_eq!(scheduler.tick().await.unwrap().started, ["anna-hourly"]);
    assert_eq!(finished(&next_events(&mut rx, 1).await), ["anna-hourly"]);

    clock.set(start + MINUTE * (23 * 60));
    let tick = scheduler.tick().await.unwrap();
    assert_eq!(tick.started, ["anna-hourly"], "the daily profile waits for its day");
    next_events(&mut rx, 1).await;

    clock.set(start + MINUTE * (24 * 60 + 6));
    let tick = scheduler.tick().await.unwrap();
    assert!(tick.started.contains(&"anna-daily".to_string()), "{tick:?}");
});

// R-SCHED-2: a CRM change triggers the profiles of its owner, its invited
// participants and the users who flagged it, at once, and no other profile.
both_backends!(r_sched_2_crm_edit_triggers_only_affected_profiles, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let hour = Duration::from_secs(3600);
    let (alice, bob, carol, dave) = (
        user(&store, "alice").await,
        user(&store, "bob").await,
        user(&store, "carol").await,
        user(&store, "dave").await,
    );
    for (name, u) in [
        ("alice-p", &alice),
        ("bob-p", &bob),
        ("carol-p", &carol),
        ("dave-p", &dave),
    ] {
        save(&store, &vdir_profile(name, u, dir.path(), hour), clock.now()).await;
    }
    let mut quiet = vdir_profile("alice-quiet", &alice, dir.path(), hour);
    quiet.push = false;
    save(&store, &quiet, clock.now()).await;
    let factory = Arc::new(crmsync_service::DefaultConnectorFactory);
    let scheduler = scheduler_with(
        &store,
        clock.clone(),
        factory,
        settings("w1", Duration::from_secs(60), 8),
    )
    .await;
    let mut rx = scheduler.subscribe();
    assert_eq!(scheduler.tick().await.unwrap().started.len(), 5);
    next_events(&mut rx, 5).await;

    // alice's new contact concerns alice only (and not her push-off profile).
    let shared = store
        .records()
        .create(
            &alice.meta.id,
            ContactFields {
                first_name: Some("Grace".into()),
                last_name: Some("Hopper".into()),
                shared: true,
                active: true,
                ..ContactFields::default()
            },
        )
        .await
        .unwrap();
    let tick = scheduler.tick().await.unwrap();
    assert_eq!(tick.started, ["alice-p"]);
    assert_eq!(finished(&next_events(&mut rx, 1).await), ["alice-p"]);
    assert_eq!(
        vdir_files(&dir.path().join("alice-p"), "contacts").len(),
        1,
        "the triggered run synced it"
    );

    // bob's meeting with carol: bob and carol, not alice or dave.
    meeting(&store, &bob, "Budget", &[&carol]).await;
    let mut started = scheduler.tick().await.unwrap().started;
    started.sort();
    assert_eq!(started, ["bob-p", "carol-p"]);
    next_events(&mut rx, 2).await;
    assert_eq!(vdir_files(&dir.path().join("carol-p"), "calendar").len(), 1);

    // dave flags alice's shared contact: dave (who flagged) and alice (owner).
    store
        .records()
        .set_sync_flag(&dave.meta.id, shared.id(), true)
        .await
        .unwrap();
    let mut started = scheduler.tick().await.unwrap().started;
    started.sort();
    assert_eq!(started, ["alice-p", "dave-p"]);
    next_events(&mut rx, 2).await;
    assert_eq!(vdir_files(&dir.path().join("dave-p"), "contacts").len(), 1);

    // Nothing changed: nothing runs (the clock has not moved).
    assert!(scheduler.tick().await.unwrap().started.is_empty());
    assert!(scheduler.metrics().render().contains("crmsync_triggers_total 5"));
});

// A failing profile retries with a growing delay and is then `failing` with
// its reason; CRM changes do not cut its back-off short; the other profile
// keeps its own schedule. Repaired, it recovers on the next retry.
both_backends!(failing_profile_backs_off_and_does_not_block_others, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (anna, ben) = (user(&store, "anna").await, user(&store, "ben").await);
    let broken = vdir_profile("broken", &anna, dir.path(), Duration::from_secs(900));
    let root = dir.path().join("broken");
    std::fs::remove_dir(&root).unwrap();
    std::fs::write(&root, "not a folder").unwrap();
    save(&store, &broken, clock.now()).await;
    save(
        &store,
        &vdir_profile("good", &ben, dir.path(), Duration::from_secs(3600)),
        clock.now(),
    )
    .await;
    let scheduler = manual_scheduler(&store, clock.clone()).await;
    let mut rx = scheduler.subscribe();
    let catalog = ProfileCatalog::new(store.clone(), None);

    scheduler.tick().await.unwrap();
    let events = next_events(&mut rx, 2).await;
    assert_eq!(
        finished(&events),
        ["good"],
        "the good profile ran beside the broken one"
    );
    let good_next = catalog.view("good").await.unwrap().unwrap().next_run_at;

    let start = clock.now();
    let mut retries = Vec::new();
    for (delay_secs, failures, state) in [(60, 2, "ok"), (120, 3, "failing")] {
        let v = catalog.view("broken").await.unwrap().unwrap();
        assert_eq!(v.next_run_at, clock.now() + chrono::Duration::seconds(delay_secs));
        clock.advance(chrono::Duration::seconds(delay_secs - 1));
        assert!(
            scheduler.tick().await.unwrap().started.is_empty(),
            "not before the back-off delay"
        );
        clock.advance(chrono::Duration::seconds(1));
        retries.push(scheduler.tick().await.unwrap().started);
        let e = next_events(&mut rx, 1).await.remove(0);
        assert!(matches!(e.result, RunResult::Failed { transient: false, .. }), "{e:?}");
        let v = catalog.view("broken").await.unwrap().unwrap();
        assert_eq!((v.failures, v.state.as_str()), (failures, state));
    }
    assert_eq!(retries, [["broken"], ["broken"]], "only the broken profile retried");
    let v = catalog.view("broken").await.unwrap().unwrap();
    let reason = v.state_reason.unwrap();
    assert!(
        reason.contains("not a directory"),
        "the reason says what is wrong: {reason}"
    );
    assert_eq!(catalog.view("good").await.unwrap().unwrap().next_run_at, good_next);
    assert!(
        clock.now() - start < MINUTE * 60,
        "the good profile was never due meanwhile"
    );

    // A CRM change of anna's does not shorten the back-off (no retry storm).
    contact(&store, &anna, "Lovelace").await;
    let tick = scheduler.tick().await.unwrap();
    assert!(tick.triggered.contains("broken"));
    assert!(tick.started.is_empty(), "{tick:?}");

    std::fs::remove_file(&root).unwrap();
    std::fs::create_dir(&root).unwrap();
    clock.advance(chrono::Duration::seconds(240));
    assert_eq!(scheduler.tick().await.unwrap().started, ["broken"]);
    assert_eq!(finished(&next_events(&mut rx, 1).await), ["broken"]);
    let v = catalog.view("broken").await.unwrap().unwrap();
    assert_eq!((v.failures, v.state.as_str(), v.state_reason), (0, "ok", None));
    assert_eq!(vdir_files(&root, "contacts").len(), 1, "the repaired profile caught up");
    let metrics = scheduler.metrics().render();
    assert!(
        metrics.contains("crmsync_runs_total{outcome=\"failed\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crmsync_errors_total{kind=\"permanent\"} 3"),
        "{metrics}"
    );
});

// R-SCHED-3 in one process: a slow profile holds its slot only; a trigger
// while it runs does not start it twice, but runs it again right after.
both_backends!(slow_profile_holds_up_no_one_and_never_runs_twice, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (anna, ben) = (user(&store, "anna").await, user(&store, "ben").await);
    let hour = Duration::from_secs(3600);
    save(&store, &vdir_profile("slow", &anna, dir.path(), hour), clock.now()).await;
    save(&store, &vdir_profile("fast", &ben, dir.path(), hour), clock.now()).await;
    let factory = GatedFactory::new(&["slow"]);
    let scheduler = scheduler_with(
        &store,
        clock.clone(),
        factory.clone(),
        settings("w1", Duration::from_secs(60), 4),
    )
    .await;
    let mut rx = scheduler.subscribe();

    assert_eq!(scheduler.tick().await.unwrap().started.len(), 2);
    assert_eq!(
        finished(&next_events(&mut rx, 1).await),
        ["fast"],
        "fast ends while slow hangs"
    );
    assert_eq!(scheduler.running(), ["slow"]);

    contact(&store, &anna, "Lovelace").await;
    let tick = scheduler.tick().await.unwrap();
    assert!(tick.triggered.contains("slow"));
    assert!(
        tick.started.is_empty(),
        "a running profile is not started again: {tick:?}"
    );
    contact(&store, &ben, "Hopper").await;
    assert_eq!(scheduler.tick().await.unwrap().started, ["fast"], "others still run");
    next_events(&mut rx, 1).await;

    factory.open(2);
    assert_eq!(finished(&next_events(&mut rx, 1).await), ["slow"]);
    assert_eq!(
        scheduler.tick().await.unwrap().started,
        ["slow"],
        "the trigger that came during the run runs it again at once"
    );
    assert_eq!(finished(&next_events(&mut rx, 1).await), ["slow"]);
    assert_eq!(vdir_files(&dir.path().join("slow"), "contacts").len(), 1);

    let mut runs = store.sync_state().runs("slow", 10).await.unwrap();
    runs.reverse();
    assert_eq!(runs.len(), 2);
    assert!(
        runs[1].started_at >= runs[0].finished_at.unwrap(),
        "runs of one profile never overlap"
    );
});

// Shutdown gives runs a grace period, then abandons them and gives the lease
// back: another worker takes the profile over at once, and the runner's
// journal makes the half-done run harmless.
both_backends!(shutdown_abandons_a_stuck_run_and_another_worker_resumes_it, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let anna = user(&store, "anna").await;
    contact(&store, &anna, "Lovelace").await;
    save(
        &store,
        &vdir_profile("stuck", &anna, dir.path(), Duration::from_secs(3600)),
        clock.now(),
    )
    .await;
    let mut quick_exit = settings("w1", Duration::from_secs(60), 4);
    quick_exit.shutdown_grace = Duration::from_millis(100);
    let first = scheduler_with(&store, clock.clone(), GatedFactory::new(&["stuck"]), quick_exit).await;
    let mut rx = first.subscribe();
    assert_eq!(first.tick().await.unwrap().started, ["stuck"]);
    first.shutdown().await;
    assert_eq!(next_events(&mut rx, 1).await[0].result, RunResult::Abandoned);
    let v = ProfileCatalog::new(store.clone(), None)
        .view("stuck")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.leased_by, None, "the lease was given back");
    assert!(v.next_run_at <= clock.now(), "due again at once");
    assert!(
        first.tick().await.unwrap().started.is_empty(),
        "a stopping scheduler claims nothing"
    );

    let second = scheduler_with(
        &store,
        clock.clone(),
        Arc::new(crmsync_service::DefaultConnectorFactory),
        settings("w2", Duration::from_secs(60), 4),
    )
    .await;
    let mut rx2 = second.subscribe();
    assert_eq!(second.tick().await.unwrap().started, ["stuck"]);
    let e = next_events(&mut rx2, 1).await.remove(0);
    assert!(
        matches!(
            e.result,
            RunResult::Finished {
                outcome: RunOutcome::Ok,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.worker, "w2");
    assert_eq!(vdir_files(&dir.path().join("stuck"), "contacts").len(), 1);
});

// R-SVC-6, R-SCHED-3: during the shutdown grace period the leases of runs
// still finishing are renewed, so a grace longer than what is left of a lease
// never lets another worker start the same profile at the same time.
both_backends!(r_svc_6_leases_are_renewed_during_the_shutdown_grace, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let anna = user(&store, "anna").await;
    contact(&store, &anna, "Lovelace").await;
    save(
        &store,
        &vdir_profile("finishing", &anna, dir.path(), Duration::from_secs(3600)),
        clock.now(),
    )
    .await;
    let lease = Duration::from_secs(60);
    let mut long_grace = settings("w1", lease, 4);
    // Far longer than the test needs: the run ends by the gate, not the grace.
    long_grace.shutdown_grace = Duration::from_secs(600);
    let factory = GatedFactory::new(&["finishing"]);
    let first = scheduler_with(&store, clock.clone(), factory.clone(), long_grace).await;
    let mut rx = first.subscribe();
    assert_eq!(first.tick().await.unwrap().started, ["finishing"]);
    let claimed_until = store
        .catalog()
        .profile_row("finishing")
        .await
        .unwrap()
        .unwrap()
        .status
        .lease_until
        .unwrap();

    let stopping = tokio::spawn({
        let first = first.clone();
        async move { first.shutdown().await }
    });
    // Past a third of the lease the shutdown loop must renew it.
    clock.advance(chrono::Duration::seconds(30));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let until = store
            .catalog()
            .profile_row("finishing")
            .await
            .unwrap()
            .unwrap()
            .status
            .lease_until;
        if until.is_some_and(|u| u > claimed_until) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lease was not renewed during the grace period"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Now past the lease as first claimed: without renewal w2 would take it.
    clock.advance(chrono::Duration::seconds(40));
    let second = scheduler_with(
        &store,
        clock.clone(),
        Arc::new(crmsync_service::DefaultConnectorFactory),
        settings("w2", lease, 4),
    )
    .await;
    assert!(
        second.tick().await.unwrap().started.is_empty(),
        "another worker must not start a profile whose run is finishing"
    );

    factory.open(1);
    let e = next_events(&mut rx, 1).await.remove(0);
    assert!(matches!(e.result, RunResult::Finished { .. }), "{e:?}");
    tokio::time::timeout(Duration::from_secs(60), stopping)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.sync_state().runs("finishing", 10).await.unwrap().len(),
        1,
        "one run only"
    );
});
