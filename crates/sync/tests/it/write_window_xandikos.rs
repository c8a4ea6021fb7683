//! R-SCALE-7 on a real Xandikos: it answers 423 Locked to a write that
//! arrives while another write to the same collection is committed, and each
//! such answer used to cost a second PUT (R-DAV-16), so 10 edits sent 4–8 at
//! once cost 24–30 PUTs. With the collection's write window (one write at a
//! time on Xandikos, `Quirks::writes_at_once`) every create and every update
//! is one PUT, but for one 423 Xandikos may give even a lone write (see
//! `ALONE_REFUSED`). Requests are counted by the fault proxy, which injects
//! nothing.

use crate::dav_world;
use std::sync::Arc;

use crmsync_dav::{DavConfig, DavConnector};
use crmsync_sync::SyncProfile;
use crmsync_testkit::{FaultPlan, FaultProxy, FaultRates};
use dav_world::{DavWorld, Peer, PeerKind, writes};

/// Contacts created, then edited: enough that the runner sends writes
/// several at once (`write_concurrency_for(concurrency)`).
const CONTACTS: usize = 24;
const EDITED: usize = 10;

/// PUTs among the proxy's requests from index `from` on: how many, and to
/// how many distinct items.
fn puts_since(proxy: &FaultProxy, from: usize) -> (usize, usize) {
    let puts: Vec<String> = proxy
        .counters()
        .requests()
        .into_iter()
        .skip(from)
        .filter(|r| r.starts_with("PUT "))
        .collect();
    let items: std::collections::BTreeSet<&String> = puts.iter().collect();
    (puts.len(), items.len())
}

/// Xandikos may refuse the first write after a listing even when it is the
/// only one in flight (seen: the first PUT after the sync-collection REPORT
/// answered 423 and went again after the others); no window prevents that,
/// so one PUT more than the items is allowed, never more.
const ALONE_REFUSED: usize = 1;

// R-SCALE-7, R-DAV-16: one PUT per create and per update on Xandikos, with
// the runner sending them 8 at once over 4 connections (the defaults).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_scale_7_xandikos_gets_one_put_per_write() {
    let peer = Peer::start(PeerKind::Xandikos);
    let proxy = FaultProxy::start(peer.addr(), FaultPlan::new(FaultRates::none(), 1))
        .await
        .unwrap();
    let mut w = DavWorld::new(&peer).await;
    let config = DavConfig {
        url: proxy.url(),
        ..peer.config()
    };
    let connector = Arc::new(DavConnector::new(&config).unwrap());
    w.profile = SyncProfile::new(
        "alice",
        w.actor.clone(),
        crmsync_engine::Profile::new(&w.actor.user_id),
        connector.clone(),
    )
    .with_write_concurrency(crmsync_sync::write_concurrency_for(Some(config.concurrency)));
    let mut contacts = Vec::new();
    for i in 0..CONTACTS {
        contacts.push(
            w.contact("Ada", &format!("Lovelace{i}"), &format!("ada{i}@example.com"))
                .await,
        );
    }

    let first = w.sync().await;
    assert_eq!(writes(&first), CONTACTS, "{first}");
    let (puts, items) = puts_since(&proxy, 0);
    assert_eq!(items, CONTACTS, "a PUT per create");
    assert!(puts <= CONTACTS + ALONE_REFUSED, "{puts} PUTs for {CONTACTS} creates");

    for c in contacts.iter().take(EDITED) {
        let mut fields = c.fields.clone();
        fields.job_title = Some("Analyst".into());
        w.store.records().update(c.id(), c.version(), fields).await.unwrap();
    }
    let before = proxy.counters().requests().len();
    let edits = w.sync().await;
    assert_eq!(writes(&edits), EDITED, "{edits}");
    let (puts, items) = puts_since(&proxy, before);
    assert_eq!(items, EDITED, "a PUT per update");
    assert!(
        puts <= EDITED + ALONE_REFUSED,
        "{puts} PUTs for {EDITED} updates: {:#?}",
        &proxy.counters().requests()[before..]
    );
    let collection = w.collection("contacts").await.id;
    assert_eq!(
        connector.writes_allowed(&collection),
        1,
        "Xandikos: one write at a time"
    );
}
