//! A profile uses the collections the user already has (R-COL-1, R-COL-3),
//! on real Radicale and Xandikos: the user's address book named by its path
//! and a calendar named by its display name receive the CRM's cards, events
//! and tasks, and crmsync creates no collection of its own. A name that fits
//! nothing stops the run before anything is written, naming what exists.

use crate::dav_world;
use std::collections::BTreeSet;

use crmsync_connector::{CollectionChoice, Connector};
use crmsync_model::ActivityKind;
use crmsync_sync::ops::{ResetScope, list_collections, reset};
use crmsync_sync::run_profile;
use dav_world::{DavWorld, Http, Peer, PeerKind, applied, text};

macro_rules! choice_e2e {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            // R-COL-1, R-COL-3
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_col_1_the_users_own_address_book_and_calendar_are_used_and_none_is_created() {
                own_collections_are_used($kind).await;
            }
            // R-COL-1
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_col_1_a_wrong_name_fails_naming_what_exists_and_writes_nothing() {
                wrong_name_writes_nothing($kind).await;
            }
            // R-COL-4, R-RESET-1
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_col_4_naming_another_collection_after_a_sync_asks_for_a_reset_first() {
                moved_pairs_ask_for_reset($kind).await;
            }
        }
    )*};
}

choice_e2e!(radicale => PeerKind::Radicale, xandikos => PeerKind::Xandikos);

/// The user's own collections, as their phone set them up: an address book
/// (Xandikos made `addressbook` itself; on Radicale a client makes it) and a
/// calendar "Work" for events and tasks, made by a plain HTTP client.
struct Own {
    book: String,
    work: String,
}

async fn users_own_collections(peer: &Peer, kind: PeerKind) -> Own {
    let http = Http::new(peer);
    let (book, work) = match kind {
        PeerKind::Xandikos => (
            "/user/contacts/addressbook/".to_string(),
            "/user/calendars/work/".to_string(),
        ),
        _ => ("/crm/addressbook/".to_string(), "/crm/work/".to_string()),
    };
    let xml = [("Content-Type", "application/xml")];
    if kind != PeerKind::Xandikos {
        let mkcol = r#"<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>addressbook</D:displayname></D:prop></D:set></D:mkcol>"#;
        let (status, _) = http.send("MKCOL", &book, &xml, mkcol.as_bytes()).await;
        assert!((200..300).contains(&status), "MKCOL {book}: {status}");
    }
    let mkcalendar = r#"<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Work</D:displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"#;
    let (status, _) = http.send("MKCALENDAR", &work, &xml, mkcalendar.as_bytes()).await;
    assert!((200..300).contains(&status), "MKCALENDAR {work}: {status}");
    Own { book, work }
}

async fn collection_ids(w: &DavWorld) -> BTreeSet<String> {
    w.dav
        .discover()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.as_str().to_string())
        .collect()
}

/// Every item body in the collection at `path`.
async fn bodies(w: &DavWorld, path: &str) -> Vec<String> {
    let c = w
        .dav
        .discover()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id.as_str() == path)
        .unwrap_or_else(|| panic!("no collection {path}"));
    let hrefs: Vec<_> = w
        .dav
        .changes(&c.id, None)
        .await
        .unwrap()
        .changed
        .into_iter()
        .map(|m| m.href)
        .collect();
    w.dav
        .get_many(&c.id, &hrefs)
        .await
        .unwrap()
        .found
        .iter()
        .map(text)
        .collect()
}

async fn own_collections_are_used(kind: PeerKind) {
    let peer = Peer::start(kind);
    let own = users_own_collections(&peer, kind).await;
    let mut w = DavWorld::new(&peer).await;
    let before = collection_ids(&w).await;
    // The address book by URL path (as a full URL), the calendar by display name.
    w.profile.collections = CollectionChoice {
        contacts: Some(format!("{}{}", peer.url().trim_end_matches('/'), own.book)),
        calendar: Some("Work".into()),
        tasks: Some("Work".into()),
    };
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.meeting("Board meeting", 2).await;
    w.task(ActivityKind::Task, "Prepare the offer").await;

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");
    assert_eq!(applied(&report, "calendar", "groupware create"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "groupware create"), 1, "{report}");
    assert_eq!(
        collection_ids(&w).await,
        before,
        "crmsync created no collection of its own"
    );
    let cards = bodies(&w, &own.book).await;
    assert!(
        cards.len() == 1 && cards[0].contains("ada@example.com"),
        "the card is in the user's address book: {cards:?}"
    );
    let work = bodies(&w, &own.work).await;
    assert_eq!(work.len(), 2, "the event and the task are in Work: {work:?}");
    assert!(
        work.iter()
            .any(|b| b.contains("BEGIN:VEVENT") && b.contains("Board meeting"))
    );
    assert!(
        work.iter()
            .any(|b| b.contains("BEGIN:VTODO") && b.contains("Prepare the offer"))
    );

    // The listing shows both, and which class uses which (R-COL-3).
    let listing = list_collections(&w.store, &w.profile).await.unwrap();
    let book = listing.collections.iter().find(|c| c.href == own.book).unwrap();
    assert_eq!((book.kind, book.used_for.clone()), ("address-book", vec!["contacts"]));
    let cal = listing.collections.iter().find(|c| c.href == own.work).unwrap();
    assert_eq!(cal.display_name, "Work");
    assert_eq!(cal.components, vec!["VEVENT", "VTODO"]);
    assert_eq!(cal.used_for, vec!["calendar", "tasks"]);
    assert!(
        listing.classes.iter().all(|u| u.chosen.is_some() && u.href.is_some()),
        "{listing:?}"
    );

    // A second run goes on in the same collections and writes nothing.
    let again = w.sync().await;
    assert_eq!(crate::common::writes(&again), 0, "{again}");
    assert_eq!(collection_ids(&w).await, before);
}

async fn wrong_name_writes_nothing(kind: PeerKind) {
    let peer = Peer::start(kind);
    let own = users_own_collections(&peer, kind).await;
    let mut w = DavWorld::new(&peer).await;
    let before = collection_ids(&w).await;
    w.profile.collections = CollectionChoice {
        contacts: Some(own.book.clone()),
        calendar: Some("Wrok".into()),
        tasks: None,
    };
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.meeting("Board meeting", 2).await;

    let err = run_profile(&w.store, &w.profile, &w.options()).await.unwrap_err();
    let message = err.to_string();
    assert!(!err.is_transient(), "a wrong name does not heal by itself: {message}");
    for needle in [
        "collections.calendar",
        "`Wrok`",
        "no such collection",
        "`Work`",
        own.work.as_str(),
    ] {
        assert!(message.contains(needle), "{needle:?} missing from: {message}");
    }
    assert!(
        bodies(&w, &own.book).await.is_empty(),
        "no card was written before the run stopped"
    );
    assert_eq!(collection_ids(&w).await, before, "no collection was created");

    // A calendar where an address book is needed is refused by kind.
    w.profile.collections = CollectionChoice {
        contacts: Some("Work".into()),
        ..Default::default()
    };
    let message = run_profile(&w.store, &w.profile, &w.options())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("calendar (VEVENT, VTODO), but contacts needs an address book"),
        "{message}"
    );
    assert_eq!(collection_ids(&w).await, before);
}

async fn moved_pairs_ask_for_reset(kind: PeerKind) {
    let peer = Peer::start(kind);
    let own = users_own_collections(&peer, kind).await;
    let mut w = DavWorld::new(&peer).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    // First synced into crmsync's own `contacts` (R-COL-2).
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");
    let own_contacts = w.collection("contacts").await;

    // Then the admin names the user's address book: the pairs point at the
    // old one, so the run stops rather than unlink the contacts.
    w.profile.collections = CollectionChoice {
        contacts: Some(own.book.clone()),
        ..Default::default()
    };
    let message = run_profile(&w.store, &w.profile, &w.options())
        .await
        .unwrap_err()
        .to_string();
    for needle in [
        "1 record(s) are paired with items of",
        own_contacts.id.as_str(),
        "crmsync reset --profile alice --collection contacts",
    ] {
        assert!(message.contains(needle), "{needle:?} missing from: {message}");
    }
    assert!(bodies(&w, &own.book).await.is_empty());

    // After the reset the records go into the named address book, once.
    let scope = ResetScope {
        collection: Some("contacts".into()),
        ..Default::default()
    };
    assert_eq!(reset(&w.store.sync_state(), "alice", &scope).await.unwrap(), 1);
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");
    let cards = bodies(&w, &own.book).await;
    assert!(cards.len() == 1 && cards[0].contains("ada@example.com"), "{cards:?}");
    assert_eq!(crate::common::writes(&w.sync().await), 0);
}
