//! The shared connector conformance suite against the Graph test server.

use crate::common::Endpoint;
use crmsync_connector::conformance::{self, Bodies, Subject};
use crmsync_connector::{CollectionKind, Connector};
use serde_json::Value;

/// A contact body as the conformance cases write it.
fn sample_contact(_uid: &str, full_name: &str) -> Vec<u8> {
    serde_json::json!({ "displayName": full_name, "givenName": full_name, "businessPhones": ["+1 425 555 0100"] })
        .to_string()
        .into_bytes()
}

/// Every property written is read back with the same value (the server adds
/// id, etag, changeKey, timestamps and crmsync's UID property).
fn holds(written: &[u8], read: &[u8]) -> bool {
    let (Ok(Value::Object(w)), Ok(Value::Object(r))) = (
        serde_json::from_slice::<Value>(written),
        serde_json::from_slice::<Value>(read),
    ) else {
        return false;
    };
    w.iter().all(|(k, v)| r.get(k) == Some(v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_connector_passes_the_conformance_suite() {
    conformance_on(&Endpoint::test_server().await).await;
}

// R-GRAPH-19: the same suite against a real tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "live tenant: set CRMSYNC_GRAPH_TEST_*"]
async fn live_graph_connector_passes_the_conformance_suite() {
    conformance_on(&Endpoint::live()).await;
}

async fn conformance_on(endpoint: &Endpoint) {
    let mut case = 0;
    let bodies = Bodies {
        sample: sample_contact,
        holds,
    };
    conformance::run_all_with(bodies, || {
        case += 1;
        let graph = endpoint.connector();
        let name = endpoint.folder_name(&format!("conformance-{case}"));
        async move {
            let collection = graph
                .ensure_collection(CollectionKind::Contacts, &name)
                .await
                .expect("ensure_collection")
                .id;
            Subject {
                connector: graph,
                collection,
            }
        }
    })
    .await;
    assert_eq!(case, 8, "every conformance case ran");
    if let Some(server) = endpoint.server() {
        assert_eq!(
            server.stats().without_immutable_id,
            0,
            "every request asked for immutable ids"
        );
    }
}
