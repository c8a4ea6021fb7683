//! A base for connectors that wrap another one to change one or two of its
//! calls (test doubles that count, hold, race or fail a call; the bench's
//! counting connector), so they override only what they change (R-CONN-6).
//!
//! A wrapper implements [`Forward`]: it names its inner connector and
//! overrides the methods it changes; every other method goes to the inner
//! connector's own, and the blanket `impl<T: Forward> Connector for T` makes
//! it a [`Connector`]. The point is the methods [`Connector`] gives a default
//! body (`changes_paged`, `flush_writes`, `lists_early`,
//! `remember_collection`): a hand-written wrapper that leaves them out
//! silently runs the trait's default instead of the inner connector's (lists
//! without paging, skips vdir's folder fsync, lists early where vdir opts
//! out, forgets DAV's remembered kind). Here every method forwards, so a
//! wrapper behaves as the connector it wraps except where it says otherwise.
//!
//! ```ignore
//! /// Counts creates; every other call is the inner connector's own.
//! struct CountingCreates {
//!     inner: Arc<dyn Connector>,
//!     creates: AtomicUsize,
//! }
//!
//! #[async_trait]
//! impl crmsync_connector::Forward for CountingCreates {
//!     fn inner(&self) -> &dyn Connector {
//!         &*self.inner
//!     }
//!     async fn create(&self, c: &CollectionId, name: &str, body: &[u8]) -> Result<ItemMeta, ConnectorError> {
//!         self.creates.fetch_add(1, Ordering::Relaxed);
//!         self.inner.create(c, name, body).await
//!     }
//! }
//! ```
//!
//! Name the trait by its path in the `impl` rather than importing it: its
//! methods carry [`Connector`]'s names (an override reads as the method it
//! replaces), so where both traits are in scope a call on the wrapper's own
//! type must say which one it means (`Connector::create(&w, ..)`); calls
//! through `dyn Connector` or on the inner connector are unaffected.
//!
//! A method added to [`Connector`] gets its forward here, in the trait and
//! in the blanket impl, in the same change. A call through a wrapper costs
//! one boxed future more than a hand-written forward (the blanket impl's and
//! the wrapper's), nothing next to the call it reaches.

use async_trait::async_trait;

use crate::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, Href, ItemMeta,
    SyncToken,
};

/// A connector made of another one, [`Forward::inner`], with some of its
/// calls changed. Every method defaults to the inner connector's own; see
/// the [module documentation](self).
#[async_trait]
pub trait Forward: Send + Sync {
    /// The connector every method the wrapper does not override goes to.
    fn inner(&self) -> &dyn Connector;

    /// [`Connector::discover`].
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.inner().discover().await
    }

    /// [`Connector::ensure_collection`].
    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        self.inner().ensure_collection(kind, name).await
    }

    /// [`Connector::changes`].
    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        self.inner().changes(collection, since).await
    }

    /// [`Connector::changes_paged`]: the inner connector's paging, not the
    /// trait's listing in one piece. A wrapper that intercepts listings
    /// overrides both this and [`Forward::changes`].
    async fn changes_paged(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        self.inner().changes_paged(collection, since, page).await
    }

    /// [`Connector::get_many`].
    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        self.inner().get_many(collection, hrefs).await
    }

    /// [`Connector::create`].
    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        self.inner().create(collection, suggested_name, body).await
    }

    /// [`Connector::update`].
    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        self.inner().update(collection, href, expected, body).await
    }

    /// [`Connector::delete`].
    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        self.inner().delete(collection, href, expected).await
    }

    /// [`Connector::flush_writes`]: the inner connector's (vdir fsyncs its
    /// folders, R-VDIR-11), not the trait's no-op.
    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        self.inner().flush_writes().await
    }

    /// [`Connector::lists_early`]: the inner connector's answer (vdir says
    /// no, R-SYNC-PERF-6), not the trait's `true`.
    fn lists_early(&self) -> bool {
        self.inner().lists_early()
    }

    /// [`Connector::remember_collection`]: the hint reaches the inner
    /// connector (DAV keeps the kind, R-DAV-17), not the trait's no-op.
    fn remember_collection(&self, collection: &Collection) {
        self.inner().remember_collection(collection)
    }
}

/// Every method, those with a default body in [`Connector`] included, is the
/// wrapper's [`Forward`] method, so none falls back to the trait's default.
#[async_trait]
impl<T: Forward> Connector for T {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        Forward::discover(self).await
    }

    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        Forward::ensure_collection(self, kind, name).await
    }

    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        Forward::changes(self, collection, since).await
    }

    async fn changes_paged(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        Forward::changes_paged(self, collection, since, page).await
    }

    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        Forward::get_many(self, collection, hrefs).await
    }

    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        Forward::create(self, collection, suggested_name, body).await
    }

    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        Forward::update(self, collection, href, expected, body).await
    }

    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        Forward::delete(self, collection, href, expected).await
    }

    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        Forward::flush_writes(self).await
    }

    fn lists_early(&self) -> bool {
        Forward::lists_early(self)
    }

    fn remember_collection(&self, collection: &Collection) {
        Forward::remember_collection(self, collection)
    }
}
