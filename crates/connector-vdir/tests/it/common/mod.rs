//! Helpers shared by the vdir integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use crmsync_connector::{CollectionId, CollectionKind, Connector};
use crmsync_vdir::{VdirConfig, VdirConnector};
use tempfile::TempDir;

/// A vdir root in a temp folder (kept alive by `_tmp`) with one contacts collection.
pub struct Fixture {
    pub _tmp: TempDir,
    pub vdir: VdirConnector,
    pub collection: CollectionId,
    pub dir: PathBuf,
}

pub async fn contacts_fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("temp dir");
    let vdir = VdirConnector::open(&VdirConfig::new(tmp.path().to_owned())).expect("open vdir");
    let collection = vdir
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .expect("ensure collection")
        .id;
    let dir = tmp.path().join(collection.as_str());
    Fixture {
        _tmp: tmp,
        vdir,
        collection,
        dir,
    }
}

/// Names of the files in `dir`, sorted, hidden ones included.
pub fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}
