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
