//! The shared connector conformance suite against the Graph test server.

mod common;

use crmsync_connector::conformance::{self, Bodies, Subject};
use crmsync_connector::{CollectionKind, Connector};
use crmsync_testkit::GraphServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_connector_passes_the_conformance_suite() {
    let server = GraphServer::start().await.expect("server");
    let mut case = 0;
    let bodies = Bodies {
        sample: common::sample_contact,
        holds: common::holds,
    };
    conformance::run_all_with(bodies, || {
        case += 1;
        let (graph, _clock) = common::connector(&server);
        async move {
            let collection = graph
                .ensure_collection(CollectionKind::Contacts, &format!("conformance-{case}"))
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
    assert_eq!(
        server.stats().without_immutable_id,
        0,
        "every request asked for immutable ids"
    );
}
