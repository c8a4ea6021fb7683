//! The connector trait: the whole surface the sync runner uses to talk to one
//! mailbox. It is deliberately narrow (list, fetch, conditional write) so every
//! protocol can honour it exactly; anything protocol-specific stays inside the
//! connector.

use async_trait::async_trait;

use crate::{
    ChangeSet, Collection, CollectionId, CollectionKind, ConnectorError, Etag, Fetched, Href, ItemMeta, SyncToken,
};

/// One user's groupware mailbox.
///
/// Writes are conditional (R-SAFE-2): `create` never overwrites, `update` and
/// `delete` apply only if the ETag still matches. A write whose reply was lost may
/// or may not have been applied; callers recover by listing again, which is why
/// `create` reports an existing name as [`ConnectorError::AlreadyExists`] instead
/// of silently picking another name.
///
/// `async_trait` (rather than native async fn in traits) keeps the trait usable
/// as `dyn Connector`, because the runner picks the connector from configuration.
///
/// A connector wrapping another is written on [`crate::Forward`], which
/// forwards every method; a method added here gets its forward there too
/// (R-CONN-6).
#[async_trait]
pub trait Connector: Send + Sync {
    /// All collections of the mailbox that hold contacts, events or tasks.
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError>;

    /// The collection called `name` of `kind`, created when missing and the
    /// connector may create collections (else [`ConnectorError::Unsupported`]).
    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError>;

    /// What changed since `since` (everything, as a complete listing, when `None`).
    /// An unknown or expired token is answered with a complete listing, not an error.
    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError>;

    /// [`Self::changes`], with a complete listing handed to `page` a page at
    /// a time, in the order `changes` lists it, instead of returned whole:
    /// a caller that keeps only what it needs of each item then never holds
    /// the listing of a large collection (R-SCALE-10). A complete answer
    /// comes back with `changed` empty. A delta comes back as `changes`
    /// gives it, and whatever went to `page` before is void: a connector
    /// may have to list everything before it knows nothing changed (vdir's
    /// digest token). The default lists with `changes`.
    async fn changes_paged(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        let mut set = self.changes(collection, since).await?;
        if set.complete {
            page(std::mem::take(&mut set.changed));
        }
        Ok(set)
    }

    /// The bodies of `hrefs`. Hrefs that no longer exist are listed in
    /// [`Fetched::missing`], not reported as an error.
    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError>;

    /// Stores a new item under a name derived from `suggested_name` (normally the
    /// UID). Fails with [`ConnectorError::AlreadyExists`] if that name is taken.
    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError>;

    /// Replaces the item if its ETag is still `expected`, else
    /// [`ConnectorError::PreconditionFailed`]. Returns the new ETag.
    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError>;

    /// Deletes the item if its ETag is still `expected`. An already-gone item is
    /// [`ConnectorError::NotFound`], which callers treat as done.
    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError>;

    /// Makes every write this connector confirmed so far durable (R-VDIR-11).
    /// A connector may confirm a write before it would survive a power cut
    /// (vdir: the folder is fsynced once per batch, not per file); the runner
    /// calls this after each batch of writes and before it records them in
    /// the status store, so the store never names a write a power cut could
    /// undo. Servers make a write durable before they answer: the default
    /// does nothing. Wrappers must forward it.
    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Whether the runner should ask for this connector's changes early:
    /// every remembered collection's at once, before the run's first pass
    /// (R-SYNC-PERF-5). That pays where a listing waits on a server (DAV,
    /// Graph: the round trips overlap), the default. A connector whose
    /// listing is local work that overlapping does not shorten, and that
    /// answers any change with a complete listing (which the run lists a
    /// second time beyond 1,000 items), answers `false`: vdir (R-SYNC-PERF-6).
    /// Wrappers should forward it.
    fn lists_early(&self) -> bool {
        true
    }

    /// What an earlier run learnt of `collection` by discovery, which the
    /// runner remembers between runs (R-COL-1). A connector that would
    /// otherwise ask the server what kind of collection it is before its
    /// first read in this process (DAV: a PROPFIND before the first
    /// multiget) may take the kind from here (R-DAV-17). A hint only: a
    /// collection gone or changed still fails the call that reaches it,
    /// and the runner then discovers again. The default ignores it;
    /// wrappers should forward it.
    fn remember_collection(&self, _collection: &Collection) {}
}
