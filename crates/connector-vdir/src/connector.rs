//! [`VdirConnector`]: the [`Connector`] trait over vdir folders.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, Href, ItemMeta,
    SyncToken,
};

use crate::etag::ListingDigest;
use crate::store::{VdirStore, answer};
use crate::{VdirConfig, VdirError};

/// How many files one page of a paged listing reads.
const LISTING_PAGE: usize = 256;

/// A connector for one vdir root. Cheap to clone.
#[derive(Clone)]
pub struct VdirConnector {
    store: Arc<VdirStore>,
}

impl std::fmt::Debug for VdirConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VdirConnector")
            .field("root", &self.store.root())
            .finish()
    }
}

impl VdirConnector {
    /// Checks that the root is an existing, readable folder.
    pub fn open(config: &VdirConfig) -> Result<Self, VdirError> {
        crmsync_connector::ConnectorConfig::validate(config).map_err(|e| VdirError::InvalidSetting {
            key: "root",
            reason: e.message,
        })?;
        let path = config.root.clone();
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(VdirError::RootNotADirectory { path }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VdirError::RootMissing { path });
            }
            Err(source) => return Err(VdirError::RootUnreadable { path, source }),
        }
        if let Err(source) = std::fs::read_dir(&path) {
            return Err(VdirError::RootUnreadable { path, source });
        }
        Ok(Self {
            store: Arc::new(VdirStore::new(path)),
        })
    }

    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// Runs blocking file work off the async executor.
    async fn run<T, F>(&self, work: F) -> Result<T, ConnectorError>
    where
        T: Send + 'static,
        F: FnOnce(&VdirStore) -> Result<T, ConnectorError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(result) => result,
            // A panic in the file code is a bug: surface it, don't disguise it.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(ConnectorError::Io {
                context: "vdir operation cancelled at shutdown".to_owned(),
                source: std::io::Error::other(e),
            }),
        }
    }
}

#[async_trait]
impl Connector for VdirConnector {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.run(|s| s.discover()).await
    }

    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        let name = name.to_owned();
        self.run(move |s| s.ensure_collection(kind, &name)).await
    }

    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        let (collection, since) = (collection.clone(), since.cloned());
        self.run(move |s| s.changes(&collection, since.as_ref())).await
    }

    /// The folder's names are read and sorted first (the token digests the
    /// listing in href order), then its files [`LISTING_PAGE`] at a time,
    /// each page handed over before the next is read: the listing of a
    /// large folder is never held whole (R-SCALE-10), only its names.
    async fn changes_paged(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        let id = collection.clone();
        let names = self.run(move |s| s.item_names(&id)).await?;
        let mut digest = ListingDigest::default();
        for from in (0..names.len()).step_by(LISTING_PAGE) {
            let these = names.page(from, names.len().min(from + LISTING_PAGE));
            let id = collection.clone();
            let items = self.run(move |s| s.item_metas(&id, these)).await?;
            digest.add(&items);
            page(items);
        }
        Ok(answer(since, digest.token(), Vec::new()))
    }

    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        let (collection, hrefs) = (collection.clone(), hrefs.to_vec());
        self.run(move |s| s.get_many(&collection, &hrefs)).await
    }

    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        let (collection, name, body) = (collection.clone(), suggested_name.to_owned(), body.to_vec());
        self.run(move |s| s.create(&collection, &name, &body)).await
    }

    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        let (collection, href, expected, body) = (collection.clone(), href.clone(), expected.clone(), body.to_vec());
        self.run(move |s| s.update(&collection, &href, &expected, &body)).await
    }

    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        let (collection, href, expected) = (collection.clone(), href.clone(), expected.clone());
        self.run(move |s| s.delete(&collection, &href, &expected)).await
    }

    /// R-SYNC-PERF-6: a listing reads local files, which gains nothing from
    /// overlapping, and any change makes it a complete listing, which a
    /// run would read twice for a folder of more than 1,000 items.
    fn lists_early(&self) -> bool {
        false
    }

    /// One fsync per folder written in since the last flush (R-VDIR-11).
    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        self.run(|s| s.flush()).await
    }
}
