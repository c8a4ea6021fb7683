//! The shared connector conformance suite against real vdir folders.

use crmsync_connector::conformance::{self, Subject};
use crmsync_connector::{CollectionKind, Connector};
use crmsync_vdir::{VdirConfig, VdirConnector};

// R-SAFE-2, R-SCHED-1: every case of the suite, each in its own fresh root.
#[tokio::test]
async fn vdir_connector_passes_the_conformance_suite() {
    let base = tempfile::tempdir().unwrap();
    let mut case = 0;
    conformance::run_all(|| {
        case += 1;
        let root = base.path().join(format!("case{case}"));
        async move {
            std::fs::create_dir(&root).unwrap();
            let connector = VdirConnector::open(&VdirConfig::new(root)).unwrap();
            let collection = connector
                .ensure_collection(CollectionKind::Contacts, "contacts")
                .await
                .unwrap()
                .id;
            Subject { connector, collection }
        }
    })
    .await;
    assert_eq!(case, 8, "every conformance case ran");
}
