//! R-SEC-1 for Graph against the loopback test server: a non-admin's
//! profile reaches neither a token endpoint nor an API on an internal
//! address, by address or by name, nor follows a link the server hands out
//! to one; the refusal is permanent and names the setting that would allow
//! it. The allow-list opens the host again.

use crate::common;

use crmsync_connector::{AllowList, CollectionKind, Connector, ConnectorError, Reach};
use crmsync_graph::GraphConnector;
use crmsync_testkit::GraphServer;
use serde_json::json;

fn users_reach(allowed: &[&str]) -> Reach {
    Reach::Public(AllowList::parse(allowed).unwrap())
}

/// The same server, by name.
fn by_name(url: &str) -> String {
    url.replace("127.0.0.1", "localhost")
}

fn expect_not_allowed<T: std::fmt::Debug>(result: Result<T, ConnectorError>, what: &str) {
    match result {
        Err(e @ ConnectorError::NotAllowed { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("R-SEC-1") && message.contains("[security] allowed_hosts"),
                "{what}: {message}"
            );
            assert!(!e.is_transient(), "{what}: a refusal is permanent, not retried");
        }
        other => panic!("{what}: expected NotAllowed, got {other:?}"),
    }
}

// R-SEC-1
#[tokio::test]
async fn r_sec_1_a_users_graph_profile_reaches_no_internal_address() {
    let server = GraphServer::start().await.unwrap();
    for name in [false, true] {
        let mut config = common::config(&server);
        if name {
            config.base_url = by_name(&config.base_url);
            config.authority = by_name(&config.authority);
        }
        let graph = GraphConnector::with_reach(config, users_reach(&[])).unwrap();
        expect_not_allowed(graph.discover().await, if name { "by name" } else { "by address" });
    }
    // The API's host is allowed, the token endpoint's is not: the secret
    // is not sent there.
    let mut config = common::config(&server);
    config.base_url = by_name(&config.base_url);
    let graph = GraphConnector::with_reach(config, users_reach(&["localhost"])).unwrap();
    expect_not_allowed(graph.discover().await, "token endpoint inside");
    let seen = server.stats();
    assert_eq!(
        (seen.tokens_issued, seen.requests),
        (0, 0),
        "nothing reached the internal server"
    );

    // The administrator's allow-list opens it.
    let graph = GraphConnector::with_reach(common::config(&server), users_reach(&["127.0.0.1"])).unwrap();
    graph.discover().await.expect("an allowed host is reached");
    assert_eq!(server.stats().tokens_issued, 1);
}

// R-SEC-1: every request is checked, also the next links the server hands
// out. The profile's host is allowed by name; the server's links name
// 127.0.0.1, which is not.
#[tokio::test]
async fn r_sec_1_a_link_from_the_server_cannot_lead_a_users_graph_profile_inside() {
    let server = GraphServer::start().await.unwrap();
    let (admin, _clock) = common::connector(&server);
    let contacts = admin
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .expect("ensure contacts");
    let folder = contacts.id.as_str().split_once(':').expect("kind:id").1.to_string();
    for i in 0..3 {
        server.user_create(&folder, json!({"givenName": format!("P{i}")}));
    }
    server.switches().set_page_size(1);

    let mut config = common::config(&server);
    config.base_url = by_name(&config.base_url);
    config.authority = by_name(&config.authority);
    let graph = GraphConnector::with_reach(config, users_reach(&["localhost"])).unwrap();
    let before = server.stats().requests;
    expect_not_allowed(graph.changes(&contacts.id, None).await, "nextLink to 127.0.0.1");
    assert_eq!(
        server.stats().requests,
        before + 1,
        "only the first page, on the allowed host, was asked for"
    );
}
