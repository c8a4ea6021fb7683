//! R-SAFE-4 against a real Radicale (issue 12 item 6): an item the server
//! refuses for good (HTTP 400 to its PUT) is reported with the server's
//! answer and skipped; the other items of the run are written and the run
//! does not fail; it waits for its next change, like a quarantined item.
//! Before, the one refusal failed the whole profile, at every run.

use crate::dav_world;
use crmsync_model::Recurrence;
use dav_world::{DavWorld, Peer, PeerKind, applied, writes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_4_an_item_the_server_refuses_is_reported_and_the_run_goes_on() {
    let peer = Peer::start(PeerKind::Radicale);
    let w = DavWorld::new(&peer).await;
    // The CRM keeps rules verbatim (R-CAL-4); Radicale answers 400 to this one.
    let mut broken = w.meeting_fields("Broken series", 2);
    broken.recurrence = Some(Recurrence {
        rule: "FREQ=WEEKLY;BYDAY=XX".into(),
        ..Recurrence::default()
    });
    w.store.records().create(&w.actor.user_id, broken).await.unwrap();
    w.meeting("Design review", 3).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;

    let report = w.sync().await;
    let calendar = report.collections.iter().find(|c| c.collection == "calendar").unwrap();
    let refusal = calendar
        .failed
        .iter()
        .find(|f| f.contains("the server refused the item"))
        .unwrap_or_else(|| panic!("the refusal is reported: {report}"));
    assert!(refusal.contains("400"), "the server's answer is named: {refusal}");
    assert_eq!(
        applied(&report, "calendar", "groupware create"),
        1,
        "the rest syncs: {report}"
    );
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");

    // The refused item waits for its next change; the next run is quiet.
    let again = w.sync().await;
    assert_eq!(writes(&again), 0, "{again}");
    assert_eq!(
        w.items("calendar").await.len(),
        1,
        "only the good meeting is on the server"
    );
}
