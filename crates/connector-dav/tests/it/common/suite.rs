//! The connector suite every real DAV peer runs (see `dav_suite!`).

use std::collections::BTreeSet;

use crmsync_connector::conformance::{self, Subject, sample_vcard};
use crmsync_connector::{
    Collection, CollectionId, CollectionKind, Connector, ConnectorError, Href, SyncToken, VCardVersion,
};
use crmsync_dav::{DavConnector, ServerFamily};

use super::{PASSWORD, Peer, PeerKind, USER, family};

/// Generates one `#[tokio::test]` per suite case for a peer kind.
#[macro_export]
macro_rules! dav_suite {
    ($kind:expr) => {
        // R-SAFE-2, R-SCHED-1, R-CONN-1..3: the shared connector conformance suite.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn passes_the_connector_conformance_suite() {
            common::suite::conformance($kind).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn discovers_homes_and_creates_missing_collections() {
            common::suite::discovery($kind).await;
        }
        // R-SAFE-2: a concurrent edit makes our conditional writes fail with 412.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn r_safe_2_concurrent_edit_gives_precondition_failed() {
            common::suite::concurrent_edit($kind).await;
        }
        // R-SCHED-1: only what changed since the token is listed.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn r_sched_1_sync_collection_delta_lists_external_changes() {
            common::suite::sync_delta($kind).await;
        }
        // R-CONN-1: an expired or unknown token gives a complete listing.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn r_conn_1_rejected_token_falls_back_to_a_listing() {
            common::suite::token_fallback($kind).await;
        }
        // R-CONN-1: a first sync never reports deletions.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn r_conn_1_first_sync_ignores_earlier_deleted_items() {
            common::suite::first_sync_ignores_deleted($kind).await;
        }
        // R-SAFE-4: malformed items come back as bytes for the runner to quarantine.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn r_safe_4_malformed_item_is_returned_as_stored_bytes() {
            common::suite::malformed_item($kind).await;
        }
        // R-CONN-4, R-SAFE-2: server down is transient; after it is back nothing is duplicated.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn r_conn_4_server_down_is_transient_and_resumes_without_duplicates() {
            common::suite::server_down($kind).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn calendar_items_and_batched_multiget() {
            common::suite::calendar_and_batches($kind).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn quirks_table_matches_the_real_server() {
            common::suite::quirks_match($kind).await;
        }
    };
}

async fn contacts(dav: &DavConnector, name: &str) -> CollectionId {
    dav.ensure_collection(CollectionKind::Contacts, name)
        .await
        .unwrap_or_else(|e| panic!("ensure_collection {name}: {e}"))
        .id
}

fn member_path(collection: &CollectionId, href: &Href) -> String {
    format!("{}{}", collection.as_str(), href.as_str())
}

pub async fn conformance(kind: PeerKind) {
    let peer = Peer::start(kind);
    let mut case = 0;
    conformance::run_all(|| {
        case += 1;
        let dav = peer.connector();
        async move {
            let collection = contacts(&dav, &format!("conformance-{case}")).await;
            Subject {
                connector: dav,
                collection,
            }
        }
    })
    .await;
    assert_eq!(case, 8, "every conformance case ran");
}

pub async fn discovery(kind: PeerKind) {
    let peer = Peer::start(kind);
    let dav = peer.connector();
    let before = dav.discover().await.expect("discover");
    let book = dav
        .ensure_collection(CollectionKind::Contacts, "CRM Contacts")
        .await
        .unwrap();
    let cal = dav
        .ensure_collection(CollectionKind::EventsAndTasks, "crm-calendar")
        .await
        .unwrap();
    let tasks = dav.ensure_collection(CollectionKind::Tasks, "crm-tasks").await.unwrap();
    assert_eq!(
        (book.kind, cal.kind, tasks.kind),
        (
            CollectionKind::Contacts,
            CollectionKind::EventsAndTasks,
            CollectionKind::Tasks
        )
    );
    assert_eq!(book.display_name, "CRM Contacts");
    assert_eq!(
        book.vcard_version,
        Some(VCardVersion::V3),
        "both servers advertise vCard 3.0"
    );

    // A fresh connector pointed at a well-known URI (a redirect) finds the same.
    let mut config = peer.config();
    config.url = format!("{}.well-known/caldav", peer.url());
    let other = DavConnector::new(&config).unwrap();
    let after = other.discover().await.expect("discover via well-known");
    for created in [&book, &cal, &tasks] {
        assert!(after.contains(created), "{created:?} missing from {after:?}");
    }
    assert_eq!(after.len(), before.len() + 3, "exactly the three new collections");

    // Ensuring again returns the same collections instead of new ones.
    assert_eq!(
        other
            .ensure_collection(CollectionKind::Contacts, "CRM Contacts")
            .await
            .unwrap(),
        book
    );
    // An events+tasks calendar serves a request for events.
    assert_eq!(
        other
            .ensure_collection(CollectionKind::Events, "crm-calendar")
            .await
            .unwrap(),
        cal
    );
    assert_eq!(
        other.discover().await.unwrap().len(),
        after.len(),
        "nothing created twice"
    );

    // A contacts collection named like an existing task list: where both live in
    // one home (Radicale) the name is taken; with separate homes (Xandikos) it is not.
    let clash = other.ensure_collection(CollectionKind::Contacts, "crm-tasks").await;
    match kind {
        PeerKind::Xandikos => {
            let made: Collection = clash.expect("separate address book home");
            assert_eq!(made.kind, CollectionKind::Contacts);
            assert_ne!(made.id, tasks.id);
        }
        _ => assert!(
            matches!(
                clash,
                Err(ConnectorError::KindMismatch {
                    found: CollectionKind::Tasks,
                    ..
                })
            ),
            "got {clash:?}"
        ),
    }
}

pub async fn concurrent_edit(kind: PeerKind) {
    let peer = Peer::start(kind);
    let dav = peer.connector();
    let c = contacts(&dav, "edits").await;
    let meta = dav.create(&c, "edit-1", &sample_vcard("edit-1", "Mine")).await.unwrap();

    // Someone else edits the card with a plain HTTP PUT.
    let theirs = sample_vcard("edit-1", "Theirs");
    let put = peer.raw().put(&member_path(&c, &meta.href), &theirs).await;
    assert!((200..300).contains(&put.status), "raw PUT: {}", put.status);

    let update = dav
        .update(&c, &meta.href, &meta.etag, &sample_vcard("edit-1", "Mine v2"))
        .await;
    assert!(
        matches!(&update, Err(ConnectorError::PreconditionFailed { href }) if *href == meta.href),
        "got {update:?}"
    );
    assert!(
        !update.unwrap_err().is_transient(),
        "re-plan, never retry the same write"
    );
    let delete = dav.delete(&c, &meta.href, &meta.etag).await;
    assert!(
        matches!(delete, Err(ConnectorError::PreconditionFailed { .. })),
        "got {delete:?}"
    );

    let fetched = dav.get_many(&c, std::slice::from_ref(&meta.href)).await.unwrap();
    assert_eq!(fetched.found.len(), 1);
    assert_eq!(fetched.found[0].body, theirs, "their edit survives");
    // After re-reading, the write with the current ETag goes through.
    let fresh = fetched.found[0].etag.clone();
    dav.update(&c, &meta.href, &fresh, &sample_vcard("edit-1", "Merged"))
        .await
        .expect("update with fresh ETag");

    // A create on a taken name never overwrites (If-None-Match: *).
    let again = dav.create(&c, "edit-1", &sample_vcard("edit-1", "Dup")).await;
    assert!(
        matches!(&again, Err(ConnectorError::AlreadyExists { href }) if *href == meta.href),
        "got {again:?}"
    );
}

pub async fn sync_delta(kind: PeerKind) {
    let peer = Peer::start(kind);
    let dav = peer.connector();
    let raw = peer.raw();
    let c = contacts(&dav, "delta").await;
    let a = dav
        .create(&c, "a@example.org", &sample_vcard("a@example.org", "A"))
        .await
        .unwrap();
    let b = dav.create(&c, "b", &sample_vcard("b", "B")).await.unwrap();
    let first = dav.changes(&c, None).await.unwrap();
    assert!(first.complete);
    assert_eq!(first.changed.len(), 2);

    // Behind the connector's back: edit a, delete b, add c (Xandikos spells
    // `@` literally in hrefs, Radicale encodes it: both must meet).
    let edited = raw
        .put(&member_path(&c, &a.href), &sample_vcard("a@example.org", "A2"))
        .await;
    assert!((200..300).contains(&edited.status));
    let deleted = raw.send("DELETE", &member_path(&c, &b.href), &[], b"").await;
    assert!((200..300).contains(&deleted.status));
    let added = raw
        .put(&format!("{}c%20d.vcf", c.as_str()), &sample_vcard("c d", "C"))
        .await;
    assert!((200..300).contains(&added.status));

    let delta = dav.changes(&c, Some(&first.new_token)).await.unwrap();
    assert!(!delta.complete, "a valid token must give a delta: {delta:?}");
    let changed: BTreeSet<&str> = delta.changed.iter().map(|i| i.href.as_str()).collect();
    assert_eq!(changed, BTreeSet::from([a.href.as_str(), "c%20d.vcf"]));
    assert_eq!(delta.deleted, vec![b.href.clone()]);
    let a_now = delta.changed.iter().find(|i| i.href == a.href).unwrap();
    assert_ne!(a_now.etag, a.etag, "the edit shows as a new ETag");
    assert_eq!(Some(a_now.etag.as_str().to_owned()), edited.header("etag"));

    let idle = dav.changes(&c, Some(&delta.new_token)).await.unwrap();
    assert!(
        !idle.complete && idle.changed.is_empty() && idle.deleted.is_empty(),
        "{idle:?}"
    );
}

pub async fn token_fallback(kind: PeerKind) {
    let peer = Peer::start(kind);
    let dav = peer.connector();
    let c = contacts(&dav, "tokens").await;
    let a = dav.create(&c, "tok-a", &sample_vcard("tok-a", "A")).await.unwrap();
    // A token of the server's own shape that it never issued (as after the
    // server forgot its history).
    let bogus = match family(kind) {
        ServerFamily::Radicale => format!("http://radicale.org/ns/sync/{}", "0".repeat(64)),
        _ => "0".repeat(40),
    };
    let listing = dav
        .changes(&c, Some(&SyncToken::new(bogus)))
        .await
        .expect("no error on a bad token");
    assert!(listing.complete, "fallback must be a complete listing");
    assert!(listing.deleted.is_empty());
    assert_eq!(listing.changed, vec![a.clone()]);
    assert_eq!(dav.server_family(), family(kind), "server recognised from its token");

    // The fresh token is a real one: the next call is a delta again.
    let b = dav.create(&c, "tok-b", &sample_vcard("tok-b", "B")).await.unwrap();
    let delta = dav.changes(&c, Some(&listing.new_token)).await.unwrap();
    assert!(!delta.complete, "{delta:?}");
    assert_eq!(delta.changed, vec![b]);
}

pub async fn first_sync_ignores_deleted(kind: PeerKind) {
    let peer = Peer::start(kind);
    let dav = peer.connector();
    let c = contacts(&dav, "history").await;
    let gone = dav.create(&c, "gone", &sample_vcard("gone", "Gone")).await.unwrap();
    dav.delete(&c, &gone.href, &gone.etag).await.unwrap();
    let kept = dav.create(&c, "kept", &sample_vcard("kept", "Kept")).await.unwrap();

    let first = dav.changes(&c, None).await.unwrap();
    assert!(first.complete);
    assert_eq!(first.changed, vec![kept]);
    assert!(
        first.deleted.is_empty(),
        "a complete listing carries no deletions: {first:?}"
    );
}

pub async fn malformed_item(kind: PeerKind) {
    let peer = Peer::start(kind);
    let dav = peer.connector();
    let c = contacts(&dav, "mixed").await;
    let good = dav.create(&c, "good", &sample_vcard("good", "Good")).await.unwrap();
    // Not a valid vCard (a date that is none, a calendar component inside a
    // card), yet both servers store it.
    let bad = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bad\r\nFN:Bad\r\nN:Bad;;;;\r\nBDAY:not-a-date\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCARD\r\n";
    let put = peer.raw().put(&format!("{}bad.vcf", c.as_str()), bad).await;
    assert!(
        (200..300).contains(&put.status),
        "raw PUT of a malformed card: {}",
        put.status
    );

    let listing = dav.changes(&c, None).await.unwrap();
    let hrefs: Vec<Href> = listing.changed.iter().map(|i| i.href.clone()).collect();
    assert_eq!(hrefs, vec![Href::new("bad.vcf"), good.href.clone()]);
    let fetched = dav
        .get_many(&c, &hrefs)
        .await
        .expect("one bad item must not fail the batch");
    assert!(fetched.failed.is_empty() && fetched.missing.is_empty(), "{fetched:?}");
    let bad_item = fetched.found.iter().find(|i| i.href.as_str() == "bad.vcf").unwrap();
    // Exactly what the server holds (Radicale re-orders properties on PUT).
    let stored = peer
        .raw()
        .send("GET", &format!("{}bad.vcf", c.as_str()), &[], b"")
        .await;
    assert_eq!(bad_item.body, stored.body, "stored bytes come back untouched");
    assert_eq!(Some(bad_item.etag.as_str().to_owned()), stored.header("etag"));
    assert!(String::from_utf8_lossy(&bad_item.body).contains("BDAY:not-a-date"));
    assert!(fetched.found.iter().any(|i| i.href == good.href));
}

pub async fn server_down(kind: PeerKind) {
    let mut peer = Peer::start(kind);
    let dav = peer.connector();
    let c = contacts(&dav, "outage").await;
    let first = dav
        .create(&c, "before", &sample_vcard("before", "Before"))
        .await
        .unwrap();
    let token = dav.changes(&c, None).await.unwrap().new_token;

    peer.stop();
    let listing = dav.changes(&c, Some(&token)).await;
    match &listing {
        Err(e @ ConnectorError::Unreachable { .. }) => assert!(e.is_transient()),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let write = dav.create(&c, "during", &sample_vcard("during", "During")).await;
    assert!(
        matches!(&write, Err(e @ ConnectorError::Unreachable { .. }) if e.is_transient()),
        "got {write:?}"
    );

    peer.restart();
    // The runner resumes: it retries the failed create and, not knowing
    // whether the first create's reply was lost, repeats that one too.
    let during = dav
        .create(&c, "during", &sample_vcard("during", "During"))
        .await
        .expect("after restart");
    let repeat = dav.create(&c, "before", &sample_vcard("before", "Before")).await;
    assert!(
        matches!(repeat, Err(ConnectorError::AlreadyExists { .. })),
        "got {repeat:?}"
    );
    let delta = dav.changes(&c, Some(&token)).await.unwrap();
    let mut view: Vec<Href> = if delta.complete {
        Vec::new()
    } else {
        vec![first.href.clone()]
    };
    view.extend(delta.changed.iter().map(|i| i.href.clone()));
    view.sort();
    assert_eq!(view, vec![first.href, during.href], "no duplicate, nothing lost");
}

pub async fn calendar_and_batches(kind: PeerKind) {
    let peer = Peer::start(kind);
    let mut config = peer.config();
    config.multiget_batch = 2;
    let dav = DavConnector::new(&config).unwrap();
    let cal = dav
        .ensure_collection(CollectionKind::EventsAndTasks, "crm-work")
        .await
        .unwrap()
        .id;
    let event = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crmsync//test//EN\r\nBEGIN:VEVENT\r\nUID:ev-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:ev-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260112T090000Z\r\nDTSTART:20260112T110000Z\r\nDTEND:20260112T120000Z\r\nSUMMARY:Weekly (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec();
    let mut bodies = vec![("ev-1".to_owned(), event)];
    for i in 0..4 {
        let uid = format!("task-{i}");
        let todo = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crmsync//test//EN\r\nBEGIN:VTODO\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Call {i}\r\nX-CRMSYNC-TYPE:phonecall\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        );
        bodies.push((uid, todo.into_bytes()));
    }
    let mut hrefs = Vec::new();
    for (uid, body) in &bodies {
        let meta = dav
            .create(&cal, uid, body)
            .await
            .unwrap_or_else(|e| panic!("create {uid}: {e}"));
        assert!(meta.href.as_str().ends_with(".ics"));
        hrefs.push(meta.href);
    }
    let mut asked = hrefs.clone();
    asked.insert(2, Href::new("never-there.ics"));
    let fetched = dav.get_many(&cal, &asked).await.unwrap();
    assert_eq!(fetched.missing, vec![Href::new("never-there.ics")]);
    assert!(fetched.failed.is_empty(), "{:?}", fetched.failed);
    assert_eq!(
        fetched.found.len(),
        bodies.len(),
        "three batches of two answer every href"
    );
    for href in &hrefs {
        let item = fetched.found.iter().find(|i| &i.href == href).unwrap();
        let stored = peer
            .raw()
            .send("GET", &format!("{}{href}", cal.as_str()), &[], b"")
            .await;
        assert_eq!(item.body, stored.body, "{href}: multiget gives the stored bytes");
        assert_eq!(Some(item.etag.as_str().to_owned()), stored.header("etag"));
    }
    let series = String::from_utf8_lossy(&fetched.found.iter().find(|i| i.href == hrefs[0]).unwrap().body).into_owned();
    assert!(
        series.contains("RRULE:FREQ=WEEKLY;COUNT=4") && series.contains("RECURRENCE-ID:20260112T090000Z"),
        "{series}"
    );
}

pub async fn quirks_match(kind: PeerKind) {
    let peer = Peer::start(kind);
    let quirks = family(kind).quirks();
    let dav = peer.connector();
    let raw = peer.raw();
    let c = contacts(&dav, "quirks").await;
    let tmp = dav.create(&c, "q", &sample_vcard("q", "Q")).await.unwrap();

    // Status for an unknown sync token.
    let report = format!(
        r#"<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
        "0".repeat(40)
    );
    let rejected = raw.xml("REPORT", c.as_str(), "0", &report).await;
    assert_eq!(rejected.status, quirks.invalid_sync_token_status, "{}", rejected.text());
    assert!(rejected.text().contains("valid-sync-token"));

    // Whether an empty-token sync lists members deleted before.
    let deleted = raw.send("DELETE", &member_path(&c, &tmp.href), &[], b"").await;
    assert_eq!(deleted.status, quirks.delete_status, "DELETE success status");
    let initial = raw
        .xml("REPORT", c.as_str(), "0", &report.replace(&"0".repeat(40), ""))
        .await;
    assert_eq!(initial.status, 207);
    assert_eq!(
        initial.text().contains("404"),
        quirks.initial_sync_lists_deleted,
        "initial sync listing: {}",
        initial.text()
    );

    // Advertised features, keep-alive, well-known redirect.
    let options = raw.send("OPTIONS", "/", &[], b"").await;
    let dav_header = options.header("dav").unwrap_or_default();
    assert_eq!(
        dav_header.contains("sync-collection"),
        quirks.advertises_sync_collection,
        "DAV: {dav_header}"
    );
    assert_eq!(
        options.version == reqwest::Version::HTTP_11,
        quirks.keep_alive,
        "{:?}",
        options.version
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let well_known = client
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}.well-known/carddav", peer.url()),
        )
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(well_known.status().as_u16(), quirks.well_known_status);

    // Content-Type required on PROPFIND bodies.
    let bare = raw
        .send(
            "PROPFIND",
            c.as_str(),
            &[("Depth", "0")],
            br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#,
        )
        .await;
    assert_eq!(
        bare.status == 415,
        quirks.requires_xml_content_type,
        "PROPFIND without Content-Type: {}",
        bare.status
    );

    // Element naming the vCard version in supported-address-data.
    let props = raw
        .xml("PROPFIND", c.as_str(), "0", r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><CR:supported-address-data/></D:prop></D:propfind>"#)
        .await;
    assert!(
        props
            .text()
            .contains(&format!(":{} ", quirks.address_data_type_element)),
        "{}",
        props.text()
    );

    // MKCALENDAR reply namespace spelling (the connector reads it either way).
    let home = if kind == PeerKind::Xandikos {
        "/user/calendars/"
    } else {
        "/crm/"
    };
    let mk = raw
        .xml("MKCALENDAR", &format!("{home}quirk-cal/"), "0", r#"<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>q</D:displayname></D:prop></D:set></C:mkcalendar>"#)
        .await;
    assert_eq!(mk.status, 201);
    assert_eq!(
        mk.text().contains("carldav"),
        quirks.misspells_caldav_namespace,
        "{}",
        mk.text()
    );
    let cal = dav.discover().await.unwrap();
    assert!(
        cal.iter().any(|c| c.id.as_str() == format!("{home}quirk-cal/")),
        "{cal:?}"
    );

    // And the connector recognises the server from the token it hands out.
    let fresh = peer.connector();
    fresh.changes(&c, None).await.unwrap();
    assert_eq!(fresh.server_family(), family(kind));
}
