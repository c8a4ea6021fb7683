//! A [`Connector`] wrapper that keeps the name and the exact bytes of every
//! item crmsync created through it, so the raw client of a first-sync figure
//! PUTs what crmsync sent (R-BENCH-14). Reading the items back from the
//! server does not give those bytes: Radicale stores a card re-serialised
//! (properties reordered, lines folded again), so the raw client used to send
//! other bodies than crmsync did.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, Href, ItemMeta,
    SyncToken,
};

use crate::raw_dav::RawItem;

/// Forwards every call; clones share what was kept.
#[derive(Clone)]
pub struct KeepCreated {
    inner: Arc<dyn Connector>,
    created: Arc<Mutex<Vec<RawItem>>>,
}

impl KeepCreated {
    pub fn new(inner: Arc<dyn Connector>) -> Self {
        KeepCreated {
            inner,
            created: Arc::default(),
        }
    }

    /// Every item created so far, by name: its name in the collection and
    /// the body crmsync sent.
    pub fn created(&self) -> Vec<RawItem> {
        let mut items = self.created.lock().expect("created items").clone();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        items
    }
}

#[async_trait]
impl Connector for KeepCreated {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.inner.discover().await
    }

    fn remember_collection(&self, collection: &Collection) {
        self.inner.remember_collection(collection);
    }

    fn lists_early(&self) -> bool {
        self.inner.lists_early()
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
        let meta = self.inner.create(collection, suggested_name, body).await?;
        self.created.lock().expect("created items").push(RawItem {
            name: meta.href.as_str().to_owned(),
            body: body.to_vec(),
        });
        Ok(meta)
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

    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        self.inner.flush_writes().await
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
        let kept = KeepCreated::new(Arc::new(memory));
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
    }
}
