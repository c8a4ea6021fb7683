//! The conformance suite every connector must pass: the semantics the sync
//! runner relies on for R-SAFE-2 (conditional, idempotent writes) and
//! R-SCHED-1 (incremental change detection).
//!
//! A connector's test calls [`run_all`] with a factory that yields a fresh
//! connector and an empty contacts collection, or calls the cases one by one to
//! get one test per case. Cases panic with a message that names the broken rule.

use std::collections::BTreeMap;
use std::future::Future;

use crate::{ChangeSet, CollectionId, Connector, ConnectorError, Etag, Href, ItemMeta};

/// A connector under test and the empty contacts collection to use.
pub struct Subject<C> {
    pub connector: C,
    pub collection: CollectionId,
}

/// A minimal valid vCard 3.0: real servers refuse cards without UID/FN/N.
pub fn sample_vcard(uid: &str, full_name: &str) -> Vec<u8> {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{full_name}\r\nN:{full_name};;;;\r\nEND:VCARD\r\n")
        .into_bytes()
}

/// The item bodies a connector's cases write, and how a body read back is
/// compared with the one written: vCard connectors store bytes as given;
/// others (Graph JSON) add server properties, so "holds" may be weaker than
/// equality but must still see every written value.
#[derive(Clone, Copy)]
pub struct Bodies {
    pub sample: fn(uid: &str, full_name: &str) -> Vec<u8>,
    pub holds: fn(written: &[u8], read: &[u8]) -> bool,
}

/// vCard bodies that must round-trip byte for byte.
pub const VCARD_BODIES: Bodies = Bodies {
    sample: sample_vcard,
    holds: |written, read| written == read,
};

/// Runs every case, each on a fresh subject from `factory`, with vCard bodies.
pub async fn run_all<C, F, Fut>(factory: F)
where
    C: Connector,
    F: FnMut() -> Fut,
    Fut: Future<Output = Subject<C>>,
{
    run_all_with(VCARD_BODIES, factory).await;
}

/// Runs every case with the connector's own kind of bodies.
pub async fn run_all_with<C, F, Fut>(b: Bodies, mut factory: F)
where
    C: Connector,
    F: FnMut() -> Fut,
    Fut: Future<Output = Subject<C>>,
{
    create_then_fetch_and_list(factory().await, b).await;
    create_on_taken_name_is_already_exists(factory().await, b).await;
    update_with_current_etag_replaces_body(factory().await, b).await;
    update_with_stale_etag_is_precondition_failed(factory().await, b).await;
    delete_honours_etag_and_reports_gone_items(factory().await, b).await;
    get_many_reports_missing_hrefs(factory().await, b).await;
    changes_since_token_show_writes_and_deletes(factory().await, b).await;
    changes_with_unknown_token_give_complete_listing(factory().await, b).await;
}

async fn create<C: Connector>(s: &Subject<C>, b: Bodies, uid: &str, name: &str) -> ItemMeta {
    s.connector
        .create(&s.collection, uid, &(b.sample)(uid, name))
        .await
        .unwrap_or_else(|e| panic!("create {uid} failed: {e}"))
}

/// Asserts that `read` holds what `written` said, under the same ETag.
fn assert_holds(b: Bodies, (etag, read): (Etag, Vec<u8>), expected_etag: &Etag, written: &[u8], what: &str) {
    assert_eq!(&etag, expected_etag, "{what}: wrong ETag");
    assert!(
        (b.holds)(written, &read),
        "{what}: the body read back does not hold what was written:\n{}\n---\n{}",
        String::from_utf8_lossy(written),
        String::from_utf8_lossy(&read)
    );
}

async fn body_of<C: Connector>(s: &Subject<C>, href: &Href) -> (Etag, Vec<u8>) {
    let fetched = s
        .connector
        .get_many(&s.collection, std::slice::from_ref(href))
        .await
        .unwrap_or_else(|e| panic!("get_many {href} failed: {e}"));
    let item = fetched
        .found
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{href} not found after writing it"));
    (item.etag, item.body)
}

/// Folds a change set into the caller's view of the collection, as the runner does.
fn apply(view: &mut BTreeMap<Href, Etag>, changes: &ChangeSet) {
    if changes.complete {
        assert!(
            changes.deleted.is_empty(),
            "a complete listing must not also list deletions"
        );
        view.clear();
    }
    for item in &changes.changed {
        view.insert(item.href.clone(), item.etag.clone());
    }
    for href in &changes.deleted {
        view.remove(href);
    }
}

/// R-SAFE-2: what was written is what is read back, under the ETag `create` returned.
pub async fn create_then_fetch_and_list<C: Connector>(s: Subject<C>, b: Bodies) {
    let meta = create(&s, b, "conf-1", "Ada Lovelace").await;
    assert_holds(
        b,
        body_of(&s, &meta.href).await,
        &meta.etag,
        &(b.sample)("conf-1", "Ada Lovelace"),
        "get_many after create",
    );
    let listing = s.connector.changes(&s.collection, None).await.expect("changes");
    assert!(listing.complete, "changes without a token must be a complete listing");
    assert_eq!(
        listing.changed,
        vec![meta],
        "the listing must show exactly the created item"
    );
}

/// R-SAFE-2: create never overwrites (If-None-Match: *).
pub async fn create_on_taken_name_is_already_exists<C: Connector>(s: Subject<C>, b: Bodies) {
    let first = create(&s, b, "conf-dup", "First").await;
    let err = s
        .connector
        .create(&s.collection, "conf-dup", &(b.sample)("conf-dup", "Second"))
        .await
        .expect_err("a second create with the same name must fail");
    assert!(
        matches!(&err, ConnectorError::AlreadyExists { href } if *href == first.href),
        "expected AlreadyExists for {}, got {err:?}",
        first.href
    );
    assert_holds(
        b,
        body_of(&s, &first.href).await,
        &first.etag,
        &(b.sample)("conf-dup", "First"),
        "the first item must be untouched",
    );
}

/// R-SAFE-2: an update with the current ETag goes through and changes the ETag.
pub async fn update_with_current_etag_replaces_body<C: Connector>(s: Subject<C>, b: Bodies) {
    let meta = create(&s, b, "conf-up", "Before").await;
    let new_body = (b.sample)("conf-up", "After");
    let etag = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &new_body)
        .await
        .expect("update with the current ETag");
    assert_ne!(etag, meta.etag, "a changed body must get a new ETag");
    assert_holds(b, body_of(&s, &meta.href).await, &etag, &new_body, "after the update");
}

/// R-SAFE-2: an update with a stale ETag never overwrites (If-Match).
pub async fn update_with_stale_etag_is_precondition_failed<C: Connector>(s: Subject<C>, b: Bodies) {
    let meta = create(&s, b, "conf-stale", "V1").await;
    let v2 = (b.sample)("conf-stale", "V2");
    let etag2 = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &v2)
        .await
        .expect("first update");
    let err = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &(b.sample)("conf-stale", "V3"))
        .await
        .expect_err("an update with the old ETag must fail");
    assert!(
        matches!(&err, ConnectorError::PreconditionFailed { href } if *href == meta.href),
        "expected PreconditionFailed, got {err:?}"
    );
    assert!(
        !err.is_transient(),
        "a precondition failure must be re-planned, not retried"
    );
    assert_holds(b, body_of(&s, &meta.href).await, &etag2, &v2, "V2 must survive");
}

/// R-SAFE-2: delete is conditional; deleting a gone item is NotFound (= done).
pub async fn delete_honours_etag_and_reports_gone_items<C: Connector>(s: Subject<C>, b: Bodies) {
    let meta = create(&s, b, "conf-del", "Doomed").await;
    let etag2 = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &(b.sample)("conf-del", "Edited"))
        .await
        .expect("update");
    let err = s
        .connector
        .delete(&s.collection, &meta.href, &meta.etag)
        .await
        .expect_err("delete with a stale ETag must fail");
    assert!(matches!(err, ConnectorError::PreconditionFailed { .. }), "got {err:?}");
    assert_eq!(
        body_of(&s, &meta.href).await.0,
        etag2,
        "a refused delete must leave the item"
    );

    s.connector
        .delete(&s.collection, &meta.href, &etag2)
        .await
        .expect("delete with the current ETag");
    let again = s.connector.delete(&s.collection, &meta.href, &etag2).await;
    assert!(matches!(again, Err(ConnectorError::NotFound { .. })), "got {again:?}");
    let update = s
        .connector
        .update(&s.collection, &meta.href, &etag2, &(b.sample)("conf-del", "Zombie"))
        .await;
    assert!(
        matches!(update, Err(ConnectorError::NotFound { .. })),
        "an update must not resurrect a deleted item, got {update:?}"
    );
}

/// get_many lists a vanished href as missing instead of failing the batch.
pub async fn get_many_reports_missing_hrefs<C: Connector>(s: Subject<C>, b: Bodies) {
    let meta = create(&s, b, "conf-get", "Present").await;
    let gone = create(&s, b, "conf-gone", "Gone").await;
    s.connector
        .delete(&s.collection, &gone.href, &gone.etag)
        .await
        .expect("delete");
    let fetched = s
        .connector
        .get_many(&s.collection, &[meta.href.clone(), gone.href.clone()])
        .await
        .expect("get_many with a missing href must not fail");
    assert_eq!(fetched.found.len(), 1);
    assert_eq!(fetched.found[0].href, meta.href);
    assert_eq!(fetched.missing, vec![gone.href]);
    assert!(fetched.failed.is_empty(), "nothing failed: {:?}", fetched.failed);
}

/// R-SCHED-1: after a token, creates, updates and deletes all show up, and an
/// unchanged collection reports nothing new.
pub async fn changes_since_token_show_writes_and_deletes<C: Connector>(s: Subject<C>, b: Bodies) {
    let a = create(&s, b, "conf-a", "A").await;
    let gone = create(&s, b, "conf-b", "B").await;
    let first = s.connector.changes(&s.collection, None).await.expect("changes");
    let mut view = BTreeMap::new();
    apply(&mut view, &first);
    assert_eq!(view.len(), 2);

    let a2 = s
        .connector
        .update(&s.collection, &a.href, &a.etag, &(b.sample)("conf-a", "A2"))
        .await
        .expect("update a");
    s.connector
        .delete(&s.collection, &gone.href, &gone.etag)
        .await
        .expect("delete b");
    let c = create(&s, b, "conf-c", "C").await;

    let second = s
        .connector
        .changes(&s.collection, Some(&first.new_token))
        .await
        .expect("changes since token");
    assert_ne!(second.new_token, first.new_token, "the token must move after writes");
    if !second.complete {
        let changed: Vec<&Href> = second.changed.iter().map(|i| &i.href).collect();
        assert!(
            changed.contains(&&a.href) && changed.contains(&&c.href),
            "delta {second:?}"
        );
        assert_eq!(second.deleted, vec![gone.href.clone()], "delta must list the deletion");
    }
    apply(&mut view, &second);
    let expected: BTreeMap<Href, Etag> = [(a.href, a2), (c.href, c.etag)].into_iter().collect();
    assert_eq!(view, expected, "the caller's view must match the collection");

    let third = s
        .connector
        .changes(&s.collection, Some(&second.new_token))
        .await
        .expect("changes with a current token");
    if !third.complete {
        assert!(
            third.changed.is_empty() && third.deleted.is_empty(),
            "nothing changed: {third:?}"
        );
    }
    apply(&mut view, &third);
    assert_eq!(view, expected, "an idle collection must not look different");
}

/// An unknown or expired token must give a complete listing, never an error or
/// an empty delta (which would hide items forever).
pub async fn changes_with_unknown_token_give_complete_listing<C: Connector>(s: Subject<C>, b: Bodies) {
    let a = create(&s, b, "conf-tok", "T").await;
    let bogus = crate::SyncToken::new("not-a-token-this-connector-issued");
    let listing = s
        .connector
        .changes(&s.collection, Some(&bogus))
        .await
        .expect("unknown token must not be an error");
    assert!(listing.complete, "unknown token must give a complete listing");
    assert_eq!(listing.changed, vec![a]);
}
