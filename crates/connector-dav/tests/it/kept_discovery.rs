//! R-DAV-18: `ensure_collection` looks among what the connector's own last
//! discovery found (with what it created since) instead of listing the homes
//! again. Requests are counted by the testkit's proxy, which injects nothing,
//! in front of a real Radicale.

use crate::common::{Peer, PeerKind};
use crmsync_connector::{CollectionKind, Connector};
use crmsync_dav::{DavConfig, DavConnector};
use crmsync_testkit::{FaultPlan, FaultProxy, FaultRates};

async fn behind_proxy(peer: &Peer) -> (FaultProxy, DavConnector) {
    let proxy = FaultProxy::start(peer.addr(), FaultPlan::new(FaultRates::none(), 1))
        .await
        .expect("proxy");
    let config = DavConfig {
        url: proxy.url(),
        ..peer.config()
    };
    (proxy, DavConnector::new(&config).expect("connector"))
}

#[tokio::test]
async fn r_dav_18_a_first_sync_lists_the_homes_once_for_the_collections_it_creates() {
    let peer = Peer::start(PeerKind::Radicale);
    let (proxy, dav) = behind_proxy(&peer).await;
    // As the runner does on a first sync: one discovery, then each class
    // it found nothing for.
    assert!(dav.discover().await.unwrap().is_empty());
    let contacts = dav
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .unwrap();
    let calendar = dav.ensure_collection(CollectionKind::Events, "calendar").await.unwrap();
    let requests = proxy.counters().requests();
    let home_listings = requests.iter().filter(|r| *r == "PROPFIND /crm/").count();
    // The home sets (asked at the principal, which is the home on Radicale)
    // and one listing of the home; before R-DAV-18 one more per created
    // collection.
    assert_eq!(home_listings, 2, "{requests:#?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("MKCOL ") || r.starts_with("MKCALENDAR "))
            .count(),
        2,
        "{requests:#?}"
    );

    // Asked again, a collection it created is found among what it keeps.
    let before = proxy.counters().requests().len();
    let again = dav
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .unwrap();
    assert_eq!(again.id, contacts.id);
    assert_eq!(
        proxy.counters().requests()[before..],
        [] as [String; 0],
        "nothing sent for a collection it created"
    );
    assert_ne!(calendar.id, contacts.id);
}

/// What is kept can be stale: a collection another client made at the
/// path since is answered 405 to the MKCOL, described and returned, as a
/// fresh listing would have found it; the next discovery replaces what is
/// kept.
#[tokio::test]
async fn r_dav_18_a_stale_kept_discovery_still_ends_at_the_collection_and_a_discovery_replaces_it() {
    let peer = Peer::start(PeerKind::Radicale);
    let (proxy, dav) = behind_proxy(&peer).await;
    assert!(dav.discover().await.unwrap().is_empty());
    // Another client makes the address book after that discovery.
    let other = peer.connector();
    let made = other
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .unwrap();
    let ensured = dav
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .unwrap();
    assert_eq!(ensured.id, made.id);
    assert_eq!(ensured.kind, CollectionKind::Contacts);
    assert_eq!(other.discover().await.unwrap().len(), 1, "still one address book");

    // And a task list; the next discovery sees it, and ensure_collection
    // takes it from there: no MKCALENDAR, no second listing of the home.
    let tasks = other.ensure_collection(CollectionKind::Tasks, "tasks").await.unwrap();
    assert_eq!(dav.discover().await.unwrap().len(), 2);
    let before = proxy.counters().requests().len();
    let found = dav.ensure_collection(CollectionKind::Tasks, "tasks").await.unwrap();
    assert_eq!(found.id, tasks.id);
    assert_eq!(proxy.counters().requests()[before..], [] as [String; 0]);
}
