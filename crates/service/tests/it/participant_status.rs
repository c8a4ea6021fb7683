//! Each participant's sync status (R-CAL-3, R-CAL-3-STATUS) as the scheduler
//! runs alice's and bob's vdir profiles, on SQLite and PostgreSQL: `pending`
//! until the user's profile takes the meeting, `sent` once it wrote their
//! copy, `synchronized` once a later run found it paired. The status writes
//! are no CRM change: the meeting's version (the API's ETag) stays, the
//! change log does not move and no profile is woken again by them.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use crmsync_model::{Activity, ActivityFields, ParticipantSyncStatus, User};
use crmsync_service::{Clock as _, ManualClock, RunEvent, RunResult};
use crmsync_store::Store;

const HOUR: Duration = Duration::from_secs(3600);

async fn status_of(store: &Store, meeting: &Activity, user: &User) -> ParticipantSyncStatus {
    let read = store.records().get::<ActivityFields>(meeting.id()).await.unwrap();
    read.fields
        .participants
        .iter()
        .find(|p| p.is_user(&user.meta.id))
        .expect("a participant")
        .sync_status
}

/// The run ids of finished runs, so their plans can be read.
fn run_ids(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.result {
            RunResult::Finished { run_id: Some(id), .. } => id.clone(),
            other => panic!("{} did not finish: {other:?}", e.profile),
        })
        .collect()
}

// R-CAL-3, R-CAL-3-STATUS, R-SCHED-2
both_backends!(
    r_cal_3_status_sent_then_synchronized_without_a_new_version_or_a_new_run,
    |store| {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        save(&store, &vdir_profile("alice-p", &alice, dir.path(), HOUR), clock.now()).await;
        let scheduler = manual_scheduler(&store, clock.clone()).await;
        let mut rx = scheduler.subscribe();
        assert_eq!(scheduler.tick().await.unwrap().started, ["alice-p"]);
        next_events(&mut rx, 1).await;

        // Only alice has a profile: her copy is written, bob's is pending.
        let meeting = meeting(&store, &alice, "Kick-off", &[&bob]).await;
        assert_eq!(status_of(&store, &meeting, &bob).await, ParticipantSyncStatus::Pending);
        assert_eq!(scheduler.tick().await.unwrap().started, ["alice-p"]);
        next_events(&mut rx, 1).await;
        assert_eq!(vdir_files(&dir.path().join("alice-p"), "calendar").len(), 1);
        assert_eq!(status_of(&store, &meeting, &alice).await, ParticipantSyncStatus::Sent);
        assert_eq!(status_of(&store, &meeting, &bob).await, ParticipantSyncStatus::Pending);
        let seq = store.records().latest_seq().await.unwrap();
        assert!(
            scheduler.tick().await.unwrap().started.is_empty(),
            "writing alice's status woke no profile"
        );

        // bob's profile arrives and writes his copy.
        save(&store, &vdir_profile("bob-p", &bob, dir.path(), HOUR), clock.now()).await;
        assert_eq!(scheduler.tick().await.unwrap().started, ["bob-p"]);
        next_events(&mut rx, 1).await;
        assert_eq!(vdir_files(&dir.path().join("bob-p"), "calendar").len(), 1);
        assert_eq!(status_of(&store, &meeting, &bob).await, ParticipantSyncStatus::Sent);
        assert!(scheduler.tick().await.unwrap().started.is_empty());

        // The next pull of each profile finds its copy paired: synchronized,
        // and plans nothing.
        // One interval plus the largest jitter (5 min) and a minute.
        clock.advance(chrono::Duration::minutes(66));
        let mut started = scheduler.tick().await.unwrap().started;
        started.sort();
        assert_eq!(started, ["alice-p", "bob-p"]);
        let runs = run_ids(&next_events(&mut rx, 2).await);
        assert_eq!(
            status_of(&store, &meeting, &alice).await,
            ParticipantSyncStatus::Synchronized
        );
        assert_eq!(
            status_of(&store, &meeting, &bob).await,
            ParticipantSyncStatus::Synchronized
        );
        for run in runs {
            assert!(
                store.sync_state().journal(&run).await.unwrap().is_empty(),
                "a run after the meeting was synced plans nothing"
            );
        }

        // None of it was a change of the meeting.
        let read = store.records().get::<ActivityFields>(meeting.id()).await.unwrap();
        assert_eq!(read.meta.version, meeting.meta.version, "the ETag stays");
        assert_eq!(store.records().latest_seq().await.unwrap(), seq, "no change-log entry");
        assert!(scheduler.tick().await.unwrap().started.is_empty(), "nothing runs again");
    }
);

// R-CAL-3-STATUS, R-CAL-5: after a reset the next run pairs bob's copy
// again without writing a new one: synchronized, not sent.
both_backends!(r_cal_3_status_a_reset_pairs_again_as_synchronized, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    save(&store, &vdir_profile("bob-p", &bob, dir.path(), HOUR), clock.now()).await;
    let scheduler = manual_scheduler(&store, clock.clone()).await;
    let mut rx = scheduler.subscribe();
    let meeting = meeting(&store, &alice, "Review", &[&bob]).await;
    assert_eq!(scheduler.tick().await.unwrap().started, ["bob-p"]);
    next_events(&mut rx, 1).await;
    assert_eq!(status_of(&store, &meeting, &bob).await, ParticipantSyncStatus::Sent);

    store.sync_state().reset_pairs("bob-p", None, None).await.unwrap();
    // One interval plus the largest jitter (5 min) and a minute.
    clock.advance(chrono::Duration::minutes(66));
    assert_eq!(scheduler.tick().await.unwrap().started, ["bob-p"]);
    next_events(&mut rx, 1).await;
    assert_eq!(vdir_files(&dir.path().join("bob-p"), "calendar").len(), 1);
    assert_eq!(
        status_of(&store, &meeting, &bob).await,
        ParticipantSyncStatus::Synchronized
    );
});
