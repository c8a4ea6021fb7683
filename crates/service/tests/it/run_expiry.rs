//! R-WEB-11: the scheduler's housekeeping deletes run reports older than
//! `scheduler.run_report_days`, on its clock, once an hour at most; each
//! profile's newest finished run, running runs, unfinished journal steps and
//! the records' history stay.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crmsync_service::{DefaultConnectorFactory, ManualClock};
use crmsync_store::status::{HistoryEntry, RunState, StepState};

use crate::common::{self, scheduler_with, settings};

both_backends!(r_web_11_the_scheduler_deletes_expired_run_reports, |store| {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut with_retention = settings("w1", Duration::from_secs(60), 4);
    with_retention.run_report_retention = Some(chrono::Duration::days(30));
    let scheduler = scheduler_with(&store, clock.clone(), Arc::new(DefaultConnectorFactory), with_retention).await;
    let runs = store.sync_state();
    let mut finished = Vec::new();
    for _ in 0..3 {
        let run = runs.begin_run("p").await.unwrap();
        runs.finish_run(&run.id, RunState::Ok, None, None).await.unwrap();
        finished.push(run.id);
    }
    let running = runs.begin_run("p").await.unwrap().id;
    let only = runs.begin_run("q").await.unwrap().id;
    runs.finish_run(&only, RunState::Failed, None, Some("down"))
        .await
        .unwrap();
    // Newest as the store orders runs (by start, then id: runs may start in
    // the same millisecond).
    let newest = runs
        .runs("p", 50)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.finished_at.is_some())
        .unwrap()
        .id;
    // An expiring run left one step done and one never started (a crash).
    let oldest = finished.iter().find(|id| **id != newest).unwrap();
    let step = runs
        .journal_plan(oldest, "p", "contacts", &["put a".into(), "put b".into()])
        .await
        .unwrap();
    runs.journal_mark(oldest, step, StepState::Done, None).await.unwrap();
    runs.add_history(&HistoryEntry {
        profile: "p".into(),
        collection: "contacts".into(),
        crm_id: Some("c1".into()),
        href: None,
        run_id: Some(oldest.clone()),
        at: Utc::now(),
        action: "update".into(),
        rule: "R-EDIT-1".into(),
        message: "kept".into(),
        detail: None,
    })
    .await
    .unwrap();

    // Fresh reports stay.
    assert_eq!(scheduler.tick().await.unwrap().expired_runs, 0);
    assert_eq!(runs.runs("p", 50).await.unwrap().len(), 4);

    clock.advance(chrono::Duration::days(31));
    assert_eq!(scheduler.tick().await.unwrap().expired_runs, 2);
    let mut left: Vec<String> = runs.runs("p", 50).await.unwrap().into_iter().map(|r| r.id).collect();
    left.sort();
    let mut kept = vec![running.clone(), newest];
    kept.sort();
    assert_eq!(left, kept, "the running and the newest finished run stay");
    assert_eq!(runs.runs("q", 50).await.unwrap().len(), 1, "a profile's only run stays");
    let journal = runs.journal(oldest).await.unwrap();
    assert_eq!(journal.len(), 1, "the unfinished step stays for the next run");
    assert_eq!(journal[0].state, StepState::Planned);
    assert_eq!(
        runs.history("p", Some("c1"), None).await.unwrap().len(),
        1,
        "history stays"
    );

    // Once an hour at most, on the scheduler's clock.
    runs.finish_run(&running, RunState::Ok, None, None).await.unwrap();
    clock.advance(chrono::Duration::minutes(59));
    assert_eq!(scheduler.tick().await.unwrap().expired_runs, 0);
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(scheduler.tick().await.unwrap().expired_runs, 1);
    assert_eq!(runs.runs("p", 50).await.unwrap().len(), 1);
});
