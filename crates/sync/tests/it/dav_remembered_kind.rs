//! R-DAV-17: a run in a new process (a fresh connector, as every `crmsync
//! sync` and every scheduled run gets) reads the items that changed in a
//! collection the profile remembers without first asking the server what
//! kind of collection it is. Requests are counted by the fault proxy, which
//! injects nothing.

use crate::dav_world;

use crmsync_model::ContactFields;
use dav_world::{Http, PeerKind, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_dav_17_a_new_process_reads_a_remembered_collection_without_a_propfind() {
    let (peer, proxy, mut w) = dav_world::behind_proxy(PeerKind::Radicale).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;

    // Another client gives Ada a title on the server.
    let item = w.item_with("contacts", "Lovelace").await;
    let path = w.path_of("contacts", &item).await;
    let edited = text(&item).replacen("\nFN:", "\nTITLE:Countess\r\nFN:", 1);
    assert_eq!(
        Http::new(&peer).put_card(&path, item.etag.as_str(), &edited).await / 100,
        2
    );

    // The next run is another process: a new connector, the store remembers
    // the collection from the first run.
    w.profile = w.profile_via(&peer, &proxy);
    let before = proxy.counters().requests().len();
    let report = w.sync().await;
    let requests = proxy.counters().requests()[before..].to_vec();
    let now = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(now.fields.job_title.as_deref(), Some("Countess"), "{report}");
    // The contacts' sync-collection REPORT and the multiget REPORT that read
    // the changed card (the title above shows it arrived).
    let reports_on_contacts = requests
        .iter()
        .filter(|r| r.starts_with("REPORT ") && r.contains("contacts"))
        .count();
    assert!(reports_on_contacts >= 2, "the changed card was read: {requests:#?}");
    assert!(
        !requests.iter().any(|r| r.starts_with("PROPFIND ")),
        "no PROPFIND to learn the collection's kind: {requests:#?}"
    );
}
