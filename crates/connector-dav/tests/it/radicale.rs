//! The DAV connector suite against a real Radicale 3.9.

use crate::common;
use common::{PASSWORD, Peer, PeerKind, USER};
use crmsync_connector::{Connector, ConnectorError, SecretSource};
use crmsync_dav::{DavConnector, DavError};

dav_suite!(PeerKind::Radicale);

// A wrong password is a clear, permanent Unauthorized (not retried, not "server down").
#[tokio::test]
async fn wrong_password_is_a_clear_unauthorized_error() {
    let peer = Peer::start(PeerKind::RadicaleWithPassword);
    let wrong = DavConnector::new(&peer.config().with_basic(USER, "wrong")).unwrap();
    let err = wrong.discover().await.expect_err("wrong password must fail");
    assert!(matches!(err, ConnectorError::Unauthorized { .. }), "got {err:?}");
    assert!(!err.is_transient(), "retrying a wrong password cannot help");
    assert!(err.to_string().contains("check username/password"), "{err}");
    assert!(err.hint().contains("password"));
    assert!(
        !format!("{err:?} {wrong:?}").contains("wrong\""),
        "the password must not leak"
    );

    // The right password from a file works against the same server.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
    let mut config = peer.config();
    config.password = Some(SecretSource::File {
        file: dir.path().join("pw"),
    });
    let right = DavConnector::new(&config).unwrap();
    let collections = right.discover().await.expect("right password");
    assert!(collections.is_empty(), "a fresh account has no collections yet");
}

#[test]
fn a_password_inside_the_url_is_refused() {
    let config = crmsync_dav::DavConfig::new("http://crm:hunter2@127.0.0.1:1/");
    let err = DavConnector::new(&config).expect_err("credentials in the URL");
    assert!(matches!(err, DavError::InvalidSetting { key: "url", .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

// R-DAV-17: a kind only remembered from an earlier run is a hint. If it is
// wrong (the collection was replaced by another kind at the same path), a
// refused multiget (Radicale answers 403) or an item reported missing is
// read again with the kind the server states: never reported missing (the
// runner would take a missing paired item for a deletion), never a
// refusal that would recur every run.
#[tokio::test]
async fn r_dav_17_a_wrong_remembered_kind_never_reports_an_item_missing() {
    use crmsync_connector::{Collection, CollectionKind};
    let peer = Peer::start(PeerKind::Radicale);
    let writer = DavConnector::new(&peer.config()).unwrap();
    let book = writer
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .unwrap();
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:r-dav-17\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n";
    let created = writer.create(&book.id, "r-dav-17", card.as_bytes()).await.unwrap();

    // A new process whose runner remembers the address book as a calendar.
    let fresh = DavConnector::new(&peer.config()).unwrap();
    fresh.remember_collection(&Collection {
        kind: CollectionKind::Events,
        ..book.clone()
    });
    let fetched = fresh
        .get_many(&book.id, std::slice::from_ref(&created.href))
        .await
        .unwrap();
    assert!(fetched.missing.is_empty(), "{fetched:?}");
    assert_eq!(fetched.found.len(), 1, "{fetched:?}");
    assert!(String::from_utf8_lossy(&fetched.found[0].body).contains("Ada Lovelace"));

    // A right hint needs no confirmation and reads the same.
    let hinted = DavConnector::new(&peer.config()).unwrap();
    hinted.remember_collection(&book);
    let fetched = hinted
        .get_many(&book.id, std::slice::from_ref(&created.href))
        .await
        .unwrap();
    assert_eq!(fetched.found.len(), 1, "{fetched:?}");
}
