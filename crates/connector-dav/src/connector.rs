//! [`DavConnector`]: the [`Connector`] trait over CardDAV/CalDAV.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, Href, ItemMeta,
    Reach, SyncToken,
};
use reqwest::Url;

use crate::discovery::Homes;
use crate::http::Http;
use crate::write_window::WriteWindow;
use crate::{DavConfig, DavError, ServerFamily};

/// A connector for one DAV account. Cheap to clone; clones share the
/// connection pool and the concurrency limit.
#[derive(Clone)]
pub struct DavConnector {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub base: Url,
    pub http: Http,
    pub multiget_batch: usize,
    family: RwLock<ServerFamily>,
    /// Discovered once per connector: homes rarely move, and each discovery
    /// costs two or three round trips.
    pub homes: tokio::sync::Mutex<Option<Homes>>,
    /// Kinds of collections seen, to pick the multiget flavour and extension.
    pub kinds: Mutex<HashMap<CollectionId, CollectionKind>>,
    /// What this connector's last discovery found, with the collections it
    /// created since: `ensure_collection` looks there (R-DAV-18).
    pub discovered: Mutex<Option<Vec<Collection>>>,
    /// Kinds an earlier run learnt and the runner handed over (R-DAV-17),
    /// not confirmed by this process: used until an answer casts doubt.
    pub hinted: Mutex<HashMap<CollectionId, CollectionKind>>,
    /// Writes in flight per collection, learned from 423s (R-SCALE-7).
    windows: Mutex<HashMap<CollectionId, Arc<WriteWindow>>>,
    /// `concurrency`: the most writes a window allows.
    concurrency: usize,
}

impl std::fmt::Debug for DavConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials stay out on purpose (they live inside `Http`).
        f.debug_struct("DavConnector")
            .field("url", &self.inner.base.as_str())
            .field("family", &self.server_family())
            .finish()
    }
}

impl DavConnector {
    /// Validates the config and resolves its credentials; no request is sent
    /// until the first call.
    pub fn new(config: &DavConfig) -> Result<Self, DavError> {
        Self::with_reach(config, Reach::Any)
    }

    /// As [`DavConnector::new`], connecting only where `reach` allows
    /// (R-SEC-1: profiles of non-admin users).
    pub fn with_reach(config: &DavConfig, reach: Reach) -> Result<Self, DavError> {
        config.validate()?;
        let mut base = Url::parse(&config.url).map_err(|e| DavError::InvalidUrl {
            url: config.url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(DavError::InvalidUrl {
                url: config.url.clone(),
                reason: "only http and https are supported".into(),
            });
        }
        if !base.username().is_empty() || base.password().is_some() {
            // A password in the URL would end up in logs and error messages.
            return Err(DavError::InvalidUrl {
                url: format!("{}://…@{}", base.scheme(), base.host_str().unwrap_or("")),
                reason: "put the username and password in their own settings, not in the URL".into(),
            });
        }
        if !base.path().ends_with('/') {
            // Relative hrefs resolve against the last segment otherwise.
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = Http::new(config, config.credentials()?, &base, reach)?;
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                http,
                multiget_batch: config.multiget_batch,
                family: RwLock::new(ServerFamily::Generic),
                homes: tokio::sync::Mutex::new(None),
                kinds: Mutex::new(HashMap::new()),
                discovered: Mutex::new(None),
                hinted: Mutex::new(HashMap::new()),
                windows: Mutex::new(HashMap::new()),
                concurrency: config.concurrency,
            }),
        })
    }

    /// The server implementation as far as recognised so far (see [`crate::quirks`]).
    pub fn server_family(&self) -> ServerFamily {
        self.inner.family()
    }

    /// Writes allowed in flight to `collection` now, as learned (R-SCALE-7).
    pub fn writes_allowed(&self, collection: &CollectionId) -> usize {
        self.inner.writes_allowed(collection)
    }
}

impl Inner {
    pub fn family(&self) -> ServerFamily {
        *self.family.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Learns the server from a sync token it issued (only ever refines Generic).
    pub fn note_token(&self, token: &str) {
        let seen = ServerFamily::from_sync_token(token);
        if seen != ServerFamily::Generic {
            let mut family = self.family.write().unwrap_or_else(|p| p.into_inner());
            if *family == ServerFamily::Generic {
                *family = seen;
            }
        }
    }

    pub fn note_server_header(&self, header: Option<&str>) {
        if let Some(seen) = header.map(ServerFamily::from_server_header)
            && seen != ServerFamily::Generic
        {
            *self.family.write().unwrap_or_else(|p| p.into_inner()) = seen;
        }
    }

    /// The write window of `collection` (R-SCALE-7), made at its first
    /// write: one write at a time on a server known to lock the collection
    /// per write (`Quirks::writes_at_once`), else `concurrency`.
    pub fn write_window(&self, collection: &CollectionId) -> Arc<WriteWindow> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows
            .entry(collection.clone())
            .or_insert_with(|| {
                let initial = self.family().quirks().writes_at_once.unwrap_or(self.concurrency);
                Arc::new(WriteWindow::new(initial, self.concurrency))
            })
            .clone()
    }

    /// Writes allowed in flight to `collection` now (R-SCALE-7; tests read it).
    pub fn writes_allowed(&self, collection: &CollectionId) -> usize {
        self.write_window(collection).limit()
    }

    pub fn remember_kind(&self, collection: &Collection) {
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(collection.id.clone(), collection.kind);
    }

    pub fn known_kind(&self, id: &CollectionId) -> Option<CollectionKind> {
        self.kinds.lock().unwrap_or_else(|p| p.into_inner()).get(id).copied()
    }

    /// R-DAV-17: the kind the runner remembers for `collection`, kept apart
    /// from the kinds this process saw until an answer confirms it.
    pub fn hint_kind(&self, collection: &Collection) {
        self.hinted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(collection.id.clone(), collection.kind);
    }

    /// The hinted kind of `id`, when this process has not seen it itself.
    pub fn hinted_kind(&self, id: &CollectionId) -> Option<CollectionKind> {
        if self.known_kind(id).is_some() {
            return None;
        }
        self.hinted.lock().unwrap_or_else(|p| p.into_inner()).get(id).copied()
    }

    /// Drops the hint for `id`: the next `kind_of` asks the server.
    pub fn forget_hint(&self, id: &CollectionId) {
        self.hinted.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// The URL of a collection id (its canonical absolute path).
    pub fn collection_url(&self, id: &CollectionId) -> Result<Url, ConnectorError> {
        let invalid = |reason: &str| ConnectorError::InvalidHref {
            href: id.to_string(),
            reason: reason.to_owned(),
        };
        if !id.as_str().starts_with('/') || !id.as_str().ends_with('/') {
            return Err(invalid("not a collection path this connector produced"));
        }
        self.base.join(id.as_str()).map_err(|e| invalid(&e.to_string()))
    }
}

#[async_trait]
impl Connector for DavConnector {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.inner.discover().await
    }

    /// R-DAV-17: the kind a multiget needs, known without a PROPFIND.
    fn remember_collection(&self, collection: &Collection) {
        self.inner.hint_kind(collection);
    }

    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        self.inner.ensure_collection(kind, name).await
    }

    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        self.inner.changes(collection, since).await
    }

    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        self.inner.get_many(collection, hrefs).await
    }

    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        self.inner.create(collection, suggested_name, body).await
    }

    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        self.inner.update(collection, href, expected, body).await
    }

    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        self.inner.delete(collection, href, expected).await
    }
}
