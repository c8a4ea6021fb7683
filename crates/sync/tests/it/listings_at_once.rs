//! R-SYNC-PERF-5: a run that remembers its collections asks for every
//! collection's changes at once, so a no-change run of contacts, calendar
//! and tasks waits for the server's slowest answer, not for the three in a
//! row. Shown on a real Radicale behind the fault proxy (which injects
//! nothing): the contacts' listing is held there, and the other
//! collections' listings must still reach the server while it is held. A
//! runner that lists one collection after another never sends them, and
//! the wait for them fails the test.

use crate::dav_world;
use std::sync::Arc;
use std::time::Duration;

use crmsync_sync::RunOutcome;
use dav_world::PeerKind;

/// Generous: only turns a hang into a failure on a loaded machine.
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_sync_perf_5_every_remembered_collection_is_listed_at_once() {
    let (_peer, proxy, w) = dav_world::behind_proxy(PeerKind::Radicale).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    // The second run confirms the first's writes; from the third on a run
    // has nothing to do.
    w.sync().await;
    let w = Arc::new(w);

    let before = proxy.counters().requests().len();
    let on_contacts =
        |method: &str, target: &str| method == "REPORT" && target.trim_end_matches('/').ends_with("/contacts");
    let mut contacts = proxy.hold(on_contacts);
    let mut another = proxy.hold(move |method, target| method == "REPORT" && !on_contacts(method, target));
    let sync = tokio::spawn({
        let w = Arc::clone(&w);
        async move { w.sync().await }
    });
    contacts.arrived(WAIT).await;
    // Held at the proxy, the contacts' listing has no answer yet: only a
    // runner that asked for every listing at once has sent another.
    another.arrived(WAIT).await;
    contacts.release();
    another.release();
    let report = tokio::time::timeout(WAIT, sync).await.expect("the run ends").unwrap();

    // The results are a no-change run's: nothing applied, one listing per
    // collection (R-SYNC-PERF-3), no request twice.
    assert_eq!(report.outcome, RunOutcome::Ok, "{report}");
    assert!(
        report.collections.iter().all(|c| c.applied.is_empty()),
        "nothing to apply: {report}"
    );
    let requests = proxy.counters().requests()[before..].to_vec();
    assert_eq!(requests.len(), 3, "one listing per collection: {requests:#?}");
    assert!(requests.iter().all(|r| r.starts_with("REPORT ")), "{requests:#?}");
    let mut targets: Vec<&String> = requests.iter().collect();
    targets.sort();
    targets.dedup();
    assert_eq!(targets.len(), 3, "three collections, each listed once: {requests:#?}");
}
