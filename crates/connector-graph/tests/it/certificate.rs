//! Certificate sign-in (R-GRAPH-1): the connector signs a client assertion
//! with the app's certificate key and the test server checks it as Entra ID
//! does (signature, thumbprint, audience, issuer, time range).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use crmsync_connector::{CollectionKind, Connector, ConnectorError};
use crmsync_graph::{Clock, GraphConnector, ManualClock};
use crmsync_testkit::GraphServer;

// R-GRAPH-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_1_certificate_sign_in_gets_a_token_and_is_never_shown() {
    let server = GraphServer::start().await.unwrap();
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
    ));
    server.set_now(DateTime::<Utc>::from(clock.now()));
    let config = server.certificate_config();
    config.validate().expect("a usable certificate");
    let graph = GraphConnector::with_clock(config.clone(), clock.clone()).unwrap();
    graph
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .expect("signed in with the certificate");
    assert_eq!(server.stats().tokens_issued, 1);
    let shown = format!("{config:?} {graph:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");

    // An assertion the token endpoint takes for stale (its clock is an hour
    // on) is refused: an authentication error, the key never shown.
    let stale = Arc::new(ManualClock::new(clock.now()));
    server.set_now(DateTime::<Utc>::from(clock.now() + Duration::from_secs(3600)));
    let graph = GraphConnector::with_clock(config, stale).unwrap();
    let err = graph.discover().await.expect_err("refused");
    assert!(matches!(err, ConnectorError::Unauthorized { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("AADSTS700024"), "{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

// R-GRAPH-1: a PEM without a key is refused when the config is checked, naming the key.
#[test]
fn r_graph_1_an_unusable_certificate_names_the_setting() {
    let config: crmsync_graph::GraphConfig = toml::from_str(
        "tenant = \"t\"\nmailbox = \"m\"\nclient_id = \"a\"\nauth = \"certificate\"\ncertificate = \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\"",
    )
    .unwrap();
    match config.validate() {
        Err(crmsync_graph::GraphError::InvalidSetting { key, .. }) => assert_eq!(key, "certificate"),
        other => panic!("expected the certificate to be refused, got {other:?}"),
    }
}
