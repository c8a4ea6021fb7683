//! What a run asks the groupware (R-SYNC-PERF-3): a run that remembers its
//! collections goes straight to one listing per collection; discovery happens
//! on the first run, after a reset and when a remembered collection is gone.
//! Calls are counted by a wrapper around a real vdir connector.

use crate::common;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::World;
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, Href, ItemMeta,
    SyncToken,
};
use crmsync_model::ActivityKind;

/// Counts the calls per method, then passes them on.
struct Counting {
    inner: Arc<dyn Connector>,
    calls: Mutex<BTreeMap<&'static str, usize>>,
}

impl Counting {
    fn count(&self, method: &'static str) {
        *self.calls.lock().unwrap().entry(method).or_default() += 1;
    }

    /// The calls since the last `take`.
    fn take(&self) -> BTreeMap<&'static str, usize> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

/// Every call to the mailbox is counted; hints, the flush and
/// `lists_early` are forwarded uncounted.
#[async_trait]
impl crmsync_connector::Forward for Counting {
    fn inner(&self) -> &dyn Connector {
        &*self.inner
    }
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.count("discover");
        self.inner.discover().await
    }
    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        self.count("ensure_collection");
        self.inner.ensure_collection(kind, name).await
    }
    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        self.count("changes");
        self.inner.changes(collection, since).await
    }
    /// A listing, whether paged or not, counts as one `changes`.
    async fn changes_paged(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        self.count("changes");
        self.inner.changes_paged(collection, since, page).await
    }
    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        self.count("get_many");
        self.inner.get_many(collection, hrefs).await
    }
    async fn create(&self, collection: &CollectionId, name: &str, body: &[u8]) -> Result<ItemMeta, ConnectorError> {
        self.count("create");
        self.inner.create(collection, name, body).await
    }
    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        self.count("update");
        self.inner.update(collection, href, expected, body).await
    }
    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        self.count("delete");
        self.inner.delete(collection, href, expected).await
    }
}

/// A vdir world whose profile's calls are counted, with a contact, an event
/// and a task already synced once.
async fn synced_world() -> (World, Arc<Counting>) {
    let mut w = World::new().await;
    let counting = Arc::new(Counting {
        inner: w.profile.connector.clone(),
        calls: Mutex::new(BTreeMap::new()),
    });
    w.profile.connector = counting.clone();
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.meeting("Engine review", 2).await;
    w.task(ActivityKind::Task, "Send the notes").await;
    let first = w.sync().await;
    assert_eq!(common::writes(&first), 3, "{first}");
    let calls = counting.take();
    assert_eq!(
        calls.get("discover"),
        Some(&1),
        "a first run discovers, once: {calls:?}"
    );
    (w, counting)
}

#[tokio::test]
async fn r_sync_perf_3_no_change_sync_is_one_listing_per_collection() {
    let (w, counting) = synced_world().await;
    // The first sync wrote to the groupware, so its cursors are set by the
    // confirming pass; from here on nothing changes.
    let report = w.sync().await;
    assert_eq!(common::writes(&report), 0, "{report}");
    let calls = counting.take();
    assert_eq!(
        calls,
        BTreeMap::from([("changes", 3)]),
        "one `changes` per collection (contacts, calendar, tasks) and nothing else"
    );
}

#[tokio::test]
async fn r_sync_perf_3_a_collection_gone_is_discovered_again() {
    let (w, counting) = synced_world().await;
    w.sync().await;
    counting.take();
    // Someone removes the address book folder (R-VDIR-10: a missing folder is
    // NotFound, never an empty listing).
    std::fs::remove_dir_all(w.folder("contacts")).unwrap();

    let report = w.sync().await;
    let calls = counting.take();
    assert_eq!(
        calls.get("discover"),
        Some(&1),
        "the gone collection is looked up again: {calls:?}"
    );
    assert_eq!(
        calls.get("ensure_collection"),
        Some(&1),
        "not found by discovery, so created (R-SYNC-COLL-1): {calls:?}"
    );
    assert!(w.folder("contacts").is_dir(), "{report}");
    // The folder found again is remembered: the next run lists only.
    w.sync().await;
    let calls = counting.take();
    assert_eq!(calls.get("discover"), None, "{calls:?}");
}

#[tokio::test]
async fn r_sync_perf_3_a_reset_discovers_again() {
    let (w, counting) = synced_world().await;
    w.sync().await;
    counting.take();
    w.store
        .sync_state()
        .reset_pairs("alice", Some("contacts"), None)
        .await
        .unwrap();

    w.sync().await;
    let calls = counting.take();
    assert_eq!(calls.get("discover"), Some(&1), "{calls:?}");
}

/// R-SYNC-PERF-6: vdir opts out of early listings, so a run in which a
/// folder of more than 1,000 items changed lists it once per pass, not a
/// second time after an early listing too large to keep (R-SYNC-PERF-5).
#[tokio::test]
async fn r_sync_perf_6_a_changed_vdir_folder_of_1001_items_is_listed_once_per_pass() {
    let (w, counting) = synced_world().await;
    for i in 0..1_001 {
        w.contact(&format!("First{i}"), &format!("Last{i}"), &format!("c{i}@example.com"))
            .await;
    }
    w.sync().await;
    let settled = w.sync().await;
    assert_eq!(common::writes(&settled), 0, "{settled}");
    assert!(w.files("contacts").len() > 1_000);
    counting.take();

    // Someone edits one card: on vdir any change is a complete listing.
    let card = w
        .files("contacts")
        .into_iter()
        .find(|p| std::fs::read_to_string(p).unwrap().contains("c7@example.com"))
        .expect("the card of contact 7");
    let body = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, body.replace("c7@example.com", "c7-new@example.com")).unwrap();

    let report = w.sync().await;
    assert_eq!(common::applied(&report, "contacts", "crm update"), 1, "{report}");
    let contact_passes = report
        .collections
        .iter()
        .find(|c| c.collection == "contacts")
        .expect("contacts synced")
        .passes;
    let calls = counting.take();
    assert_eq!(
        calls.get("changes"),
        Some(&(contact_passes + 2)),
        "one listing per pass of contacts, one each for calendar and tasks: {calls:?}"
    );
}
