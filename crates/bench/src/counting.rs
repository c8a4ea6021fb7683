//! A [`Connector`] wrapper that counts the calls the runner makes, so the
//! incremental benchmarks can report "requests sent" next to the time (the
//! issue's target: a no-change sync = one listing request per collection).
//!
//! Counting at the trait rather than on the wire keeps it protocol-neutral:
//! it works the same for vdir and DAV. One DAV call may be several HTTP
//! requests (multiget batches), which the report says beside the figure.
//!
//! A first-sync figure also needs the exact bytes crmsync created, so its raw
//! client PUTs what crmsync sent (R-BENCH-14): reading the items back from the
//! server does not give them (Radicale stores a card re-serialised, its
//! properties reordered and its lines folded again). The same wrapper keeps
//! them when asked ([`CountingConnector::keeping_created`]), so a figure wraps
//! the connector once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, Href, ItemMeta,
    SyncToken,
};

use crate::raw_dav::RawItem;

/// Calls made through a [`CountingConnector`] since the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub discover: u64,
    pub ensure_collection: u64,
    pub changes: u64,
    pub get_many: u64,
    pub create: u64,
    pub update: u64,
    pub delete: u64,
}

impl CallCounts {
    pub fn total(&self) -> u64 {
        self.reads() + self.writes()
    }

    /// Calls that only read: discovery, listings and fetches.
    pub fn reads(&self) -> u64 {
        self.discover + self.ensure_collection + self.changes + self.get_many
    }

    pub fn writes(&self) -> u64 {
        self.create + self.update + self.delete
    }
}

impl std::fmt::Display for CallCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (discover {}, ensure {}, changes {}, get_many {}, create {}, update {}, delete {})",
            self.total(),
            self.discover,
            self.ensure_collection,
            self.changes,
            self.get_many,
            self.create,
            self.update,
            self.delete
        )
    }
}

#[derive(Default)]
struct Counters {
    discover: AtomicU64,
    ensure_collection: AtomicU64,
    changes: AtomicU64,
    get_many: AtomicU64,
    create: AtomicU64,
    update: AtomicU64,
    delete: AtomicU64,
}

/// Forwards every call to the wrapped connector and counts it. Clones share
/// the counters (and the kept items), so the benchmark keeps one clone and
/// hands the other to the profile.
#[derive(Clone)]
pub struct CountingConnector {
    inner: Arc<dyn Connector>,
    counters: Arc<Counters>,
    /// The items created through it, when asked to keep them; `None` keeps
    /// nothing (the vdir figures create 30,000 cards and measure memory).
    created: Option<Arc<Mutex<Vec<RawItem>>>>,
}

impl CountingConnector {
    pub fn new(inner: Arc<dyn Connector>) -> Self {
        CountingConnector {
            inner,
            counters: Arc::default(),
            created: None,
        }
    }

    /// Counts, and also keeps the name and the exact body of every item
    /// created through it (R-BENCH-14).
    pub fn keeping_created(inner: Arc<dyn Connector>) -> Self {
        CountingConnector {
            created: Some(Arc::default()),
            ..CountingConnector::new(inner)
        }
    }

    /// Every item created so far, by name: its name in the collection and
    /// the body crmsync sent. Empty unless made with `keeping_created`.
    pub fn created(&self) -> Vec<RawItem> {
        let Some(created) = &self.created else {
            return Vec::new();
        };
        let mut items = created.lock().expect("created items").clone();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        items
    }

    pub fn counts(&self) -> CallCounts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CallCounts {
            discover: get(&c.discover),
            ensure_collection: get(&c.ensure_collection),
            changes: get(&c.changes),
            get_many: get(&c.get_many),
            create: get(&c.create),
            update: get(&c.update),
            delete: get(&c.delete),
        }
    }

    pub fn reset(&self) {
        let c = &self.counters;
        for a in [
            &c.discover,
            &c.ensure_collection,
            &c.changes,
            &c.get_many,
            &c.create,
            &c.update,
            &c.delete,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Every call to the mailbox is counted; what is not a call to it (the
/// remembered-collection hint, `lists_early`, the flush) is the wrapped
/// connector's, uncounted, so the bench runs as `crmsync` would.
#[async_trait]
impl crmsync_connector::Forward for CountingConnector {
    fn inner(&self) -> &dyn Connector {
        &*self.inner
    }

    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        bump(&self.counters.discover);
        self.inner.discover().await
    }

    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        bump(&self.counters.ensure_collection);
        self.inner.ensure_collection(kind, name).await
    }

    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        bump(&self.counters.changes);
        self.inner.changes(collection, since).await
    }

    /// A listing a page at a time is one listing, as `changes` is.
    async fn changes_paged(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        bump(&self.counters.changes);
        self.inner.changes_paged(collection, since, page).await
    }

    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        bump(&self.counters.get_many);
        self.inner.get_many(collection, hrefs).await
    }

    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        bump(&self.counters.create);
        let meta = self.inner.create(collection, suggested_name, body).await?;
        if let Some(created) = &self.created {
            created.lock().expect("created items").push(RawItem {
                name: meta.href.as_str().to_owned(),
                body: body.to_vec(),
            });
        }
        Ok(meta)
    }

    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        bump(&self.counters.update);
        self.inner.update(collection, href, expected, body).await
    }

    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        bump(&self.counters.delete);
        self.inner.delete(collection, href, expected).await
    }
}

#[cfg(test)]
mod tests {
    use crmsync_connector::memory::MemoryConnector;

    use super::*;

    #[tokio::test]
    async fn r_bench_14_the_raw_client_gets_the_bytes_crmsync_sent() {
        let memory = MemoryConnector::new();
        let collection = memory.add_collection(CollectionKind::Contacts, "contacts");
        let kept = CountingConnector::keeping_created(Arc::new(memory));
        let body = b"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:b\r\nFN:B\r\nEND:VCARD\r\n";
        let second = b"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:a\r\nFN:A\r\nEND:VCARD\r\n";
        let b = kept.create(&collection, "b", body).await.unwrap();
        let a = kept.create(&collection, "a", second).await.unwrap();
        // A failed create keeps nothing.
        assert!(kept.create(&collection, "a", second).await.is_err());
        let items = kept.created();
        let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, [a.href.as_str(), b.href.as_str()], "by name, each once");
        let by_name = |h: &Href| items.iter().find(|i| i.name == h.as_str()).unwrap().body.clone();
        assert_eq!(by_name(&b.href), body.to_vec());
        assert_eq!(by_name(&a.href), second.to_vec());
        assert_eq!(kept.counts().create, 3, "every create counted, the failed one too");
        let plain = CountingConnector::new(Arc::new(MemoryConnector::new()));
        assert!(plain.created().is_empty(), "a plain counter keeps nothing");
    }
}
