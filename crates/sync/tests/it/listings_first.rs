//! R-SYNC-PERF-7: a run sends its early listings (R-SYNC-PERF-5) before it
//! writes anything; its start row, the recovery of interrupted runs and
//! every first pass's reads run while the listings are in flight. Shown on
//! a real Radicale behind the fault proxy, with the CRM database's write
//! lock held by another connection: the run's start row waits for it, and
//! the listings must reach the server meanwhile. A runner that writes its
//! start row first sends no listing while the lock is held, and the wait
//! for one fails the test.

use crate::dav_world;
use std::sync::Arc;
use std::time::Duration;

use crmsync_store::Store;
use crmsync_sync::RunOutcome;
use dav_world::PeerKind;

/// Generous: only turns a hang into a failure on a loaded machine.
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_sync_perf_7_listings_go_out_while_the_run_start_row_waits() {
    let (_peer, proxy, w) = dav_world::behind_proxy(PeerKind::Radicale).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    // The second run confirms the first's writes; from the third on a run
    // has nothing to do.
    w.sync().await;
    let w = Arc::new(w);
    let runs_before = w.store.sync_state().runs("alice", 100).await.unwrap().len();

    // Another connection takes SQLite's write lock: every write of the run
    // waits for it (busy_timeout), reads do not (WAL).
    let other = Store::connect(&format!("sqlite://{}", w.dir.path().join("crm.db").display()))
        .await
        .unwrap();
    let lock = other.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    let mut listing = proxy.hold(|method, _| method == "REPORT");
    let sync = tokio::spawn({
        let w = Arc::clone(&w);
        async move { w.sync().await }
    });
    listing.arrived(WAIT).await;
    // A listing is at the server while the run could not have written its
    // start row yet.
    lock.rollback().await.unwrap();
    listing.release();
    let report = tokio::time::timeout(WAIT, sync).await.expect("the run ends").unwrap();

    // A no-change run, recorded as every run is.
    assert_eq!(report.outcome, RunOutcome::Ok, "{report}");
    assert!(
        report.collections.iter().all(|c| c.applied.is_empty()),
        "nothing to apply: {report}"
    );
    let runs = w.store.sync_state().runs("alice", 100).await.unwrap();
    assert_eq!(runs.len(), runs_before + 1);
    assert_eq!(Some(&runs[0].id), report.run_id.as_ref());
    assert!(runs[0].finished_at.is_some(), "{:?}", runs[0]);
}
