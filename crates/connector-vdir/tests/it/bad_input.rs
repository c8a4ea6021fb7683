//! Wrong configuration and hostile input give clear errors, never damage.

use crate::common;
use std::fs;

use common::contacts_fixture;
use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::{CollectionId, Connector, ConnectorError, Etag, Href};
use crmsync_vdir::{VdirConfig, VdirConnector, VdirError};

#[test]
fn a_missing_or_wrong_root_is_a_clear_permanent_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = VdirConnector::open(&VdirConfig::new(tmp.path().join("nope"))).unwrap_err();
    assert!(matches!(missing, VdirError::RootMissing { .. }), "{missing:?}");
    assert!(missing.to_string().contains("nope"), "the message names the path");
    assert!(!missing.is_transient());
    assert!(missing.hint().contains("create the folder"));

    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    let not_dir = VdirConnector::open(&VdirConfig::new(file)).unwrap_err();
    assert!(matches!(not_dir, VdirError::RootNotADirectory { .. }), "{not_dir:?}");
    let as_connector: ConnectorError = not_dir.into();
    assert!(!as_connector.is_transient());
}

#[tokio::test]
async fn an_unknown_collection_is_not_found() {
    let f = contacts_fixture().await;
    for id in ["absent", "../contacts", ".", ""] {
        let err = f.vdir.changes(&CollectionId::new(id), None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::NotFound { .. }), "{id:?}: {err:?}");
    }
}

// Hrefs come from the status store; a crafted one must never reach outside
// the collection folder.
#[tokio::test]
async fn hrefs_that_leave_the_folder_are_refused() {
    let f = contacts_fixture().await;
    let outside = f._tmp.path().join("victim.vcf");
    fs::write(&outside, "precious").unwrap();
    let etag = Etag::new("any");
    for bad in ["../victim.vcf", "/etc/passwd", "..", ".crmsync-kind"] {
        let href = Href::new(bad);
        let err = f.vdir.delete(&f.collection, &href, &etag).await.unwrap_err();
        assert!(matches!(err, ConnectorError::InvalidHref { .. }), "{bad}: {err:?}");
        let err = f.vdir.update(&f.collection, &href, &etag, b"x").await.unwrap_err();
        assert!(matches!(err, ConnectorError::InvalidHref { .. }), "{bad}: {err:?}");
        let got = f.vdir.get_many(&f.collection, &[href]).await.unwrap();
        assert!(got.found.is_empty() && got.failed.len() == 1, "{bad}");
    }
    assert_eq!(fs::read_to_string(&outside).unwrap(), "precious");
}

// A FIFO or folder named like an item is never opened for reading (that
// would hang or fail): it is not listed, and asking for it is a per-item failure.
#[tokio::test]
async fn special_files_are_not_items() {
    let f = contacts_fixture().await;
    let fifo = f.dir.join("pipe.vcf");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let card = f
        .vdir
        .create(&f.collection, "ok", &sample_vcard("ok", "OK"))
        .await
        .unwrap();
    assert_eq!(f.vdir.changes(&f.collection, None).await.unwrap().changed, vec![card]);
    let got = f.vdir.get_many(&f.collection, &[Href::new("pipe.vcf")]).await.unwrap();
    assert_eq!(got.failed.len(), 1, "{got:?}");
    assert!(fifo.exists());
}

// A collection folder that vanished mid-sync is NotFound, not "empty" (which
// would look like every item was deleted).
#[tokio::test]
async fn a_vanished_collection_is_not_an_empty_one() {
    let f = contacts_fixture().await;
    f.vdir
        .create(&f.collection, "a", &sample_vcard("a", "A"))
        .await
        .unwrap();
    fs::remove_dir_all(&f.dir).unwrap();
    let err = f.vdir.changes(&f.collection, None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("contacts"), "names the folder: {err}");
}
