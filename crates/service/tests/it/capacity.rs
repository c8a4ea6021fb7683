//! R-SCHED-5: a worker claims as many due profiles as it has free run slots,
//! in one statement per tick, most overdue first, and claims again as soon
//! as a run ends instead of at the next poll. On the hand-driven clock.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use crmsync_service::{Clock as _, ManualClock, RunResult};

const HOUR: Duration = Duration::from_secs(3600);

/// `n` profiles of one user, each due one second after the previous, in the
/// reverse order of their names (so due time, not name, decides). Returns
/// the names, most overdue first.
async fn due_one_after_another(
    store: &crmsync_store::Store,
    clock: &ManualClock,
    dir: &std::path::Path,
    n: usize,
) -> Vec<String> {
    let owner = user(store, "anna").await;
    let mut names = Vec::new();
    for i in (0..n).rev() {
        let name = format!("p{i:02}");
        save(store, &vdir_profile(&name, &owner, dir, HOUR), clock.now()).await;
        names.push(name);
        clock.advance(chrono::Duration::seconds(1));
    }
    names
}

// N due profiles with C slots are claimed in ceil(N/C) ticks, C at a time,
// none twice, in the order they fell due.
both_backends!(r_sched_5_due_profiles_claimed_up_to_free_slots_by_due_time, |store| {
    const N: usize = 7;
    const C: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let expected = due_one_after_another(&store, &clock, dir.path(), N).await;
    let scheduler = scheduler_with(
        &store,
        clock.clone(),
        Arc::new(crmsync_service::DefaultConnectorFactory),
        settings("w1", Duration::from_secs(60), C),
    )
    .await;
    let mut rx = scheduler.subscribe();

    let mut claimed: Vec<String> = Vec::new();
    let mut ticks = 0;
    loop {
        let started = scheduler.tick().await.unwrap().started;
        if started.is_empty() {
            break;
        }
        ticks += 1;
        assert_eq!(
            started.len(),
            C.min(N - claimed.len()),
            "as many as there are free slots: {started:?}"
        );
        let ended = next_events(&mut rx, started.len()).await;
        assert!(
            ended.iter().all(|e| matches!(e.result, RunResult::Finished { .. })),
            "{ended:?}"
        );
        claimed.extend(started);
    }
    assert_eq!(ticks, N.div_ceil(C), "ceil(N/C) ticks");
    assert_eq!(claimed, expected, "each once, most overdue first");
});

// A run that ends frees its slot at once: with the poll an hour long, all
// profiles still run, C at a time, one claim per ended run.
both_backends!(r_sched_5_a_run_ending_claims_the_next_without_a_poll, |store| {
    const N: usize = 7;
    const C: usize = 2;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let expected = due_one_after_another(&store, &clock, dir.path(), N).await;
    let mut slow_poll = settings("w1", Duration::from_secs(60), C);
    slow_poll.poll = HOUR;
    let scheduler = scheduler_with(
        &store,
        clock.clone(),
        Arc::new(crmsync_service::DefaultConnectorFactory),
        slow_poll,
    )
    .await;
    let mut rx = scheduler.subscribe();
    let (stop, looping) = looping(&scheduler);
    let mut ran: Vec<String> = next_events(&mut rx, N).await.into_iter().map(|e| e.profile).collect();
    ran.sort();
    let mut all = expected.clone();
    all.sort();
    assert_eq!(ran, all, "every profile ran once within the first poll period");
    stop.send(()).unwrap();
    looping.await.unwrap();
});
