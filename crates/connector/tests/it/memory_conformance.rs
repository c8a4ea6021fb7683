//! The shared conformance suite against the in-memory reference connector.

use crmsync_connector::CollectionKind;
use crmsync_connector::conformance::{self, Subject};
use crmsync_connector::memory::MemoryConnector;

async fn subject() -> Subject<MemoryConnector> {
    let connector = MemoryConnector::new();
    let collection = connector.add_collection(CollectionKind::Contacts, "contacts");
    Subject { connector, collection }
}

// R-SAFE-2, R-SCHED-1: every case of the suite.
#[tokio::test]
async fn memory_connector_passes_the_conformance_suite() {
    conformance::run_all(subject).await;
}
