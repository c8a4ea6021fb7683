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

/// Runs every case, each on a fresh subject from `factory`.
pub async fn run_all<C, F, Fut>(mut factory: F)
where
    C: Connector,
    F: FnMut() -> Fut,
    Fut: Future<Output = Subject<C>>,
{
    create_then_fetch_and_list(factory().await).await;
    create_on_taken_name_is_already_exists(factory().await).await;
    update_with_current_etag_replaces_body(factory().await).await;
    update_with_stale_etag_is_precondition_failed(factory().await).await;
    delete_honours_etag_and_reports_gone_items(factory().await).await;
    get_many_reports_missing_hrefs(factory().await).await;
    changes_since_token_show_writes_and_deletes(factory().await).await;
    changes_with_unknown_token_give_complete_listing(factory().await).await;
}

async fn create<C: Connector>(s: &Subject<C>, uid: &str, name: &str) -> ItemMeta {
    s.connector
        .create(&s.collection, uid, &sample_vcard(uid, name))
        .await
        .unwrap_or_else(|e| panic!("create {uid} failed: {e}"))
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
pub async fn create_then_fetch_and_list<C: Connector>(s: Subject<C>) {
    let meta = create(&s, "conf-1", "Ada Lovelace").await;
    let (etag, body) = body_of(&s, &meta.href).await;
    assert_eq!(etag, meta.etag, "get_many must report the ETag create returned");
    assert_eq!(
        body,
        sample_vcard("conf-1", "Ada Lovelace"),
        "body must round-trip byte for byte"
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
pub async fn create_on_taken_name_is_already_exists<C: Connector>(s: Subject<C>) {
    let first = create(&s, "conf-dup", "First").await;
    let err = s
        .connector
        .create(&s.collection, "conf-dup", &sample_vcard("conf-dup", "Second"))
        .await
        .expect_err("a second create with the same name must fail");
    assert!(
        matches!(&err, ConnectorError::AlreadyExists { href } if *href == first.href),
        "expected AlreadyExists for {}, got {err:?}",
        first.href
    );
    let (etag, body) = body_of(&s, &first.href).await;
    assert_eq!(
        (etag, body),
        (first.etag, sample_vcard("conf-dup", "First")),
        "the first item must be untouched"
    );
}

/// R-SAFE-2: an update with the current ETag goes through and changes the ETag.
pub async fn update_with_current_etag_replaces_body<C: Connector>(s: Subject<C>) {
    let meta = create(&s, "conf-up", "Before").await;
    let new_body = sample_vcard("conf-up", "After");
    let etag = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &new_body)
        .await
        .expect("update with the current ETag");
    assert_ne!(etag, meta.etag, "a changed body must get a new ETag");
    assert_eq!(body_of(&s, &meta.href).await, (etag, new_body));
}

/// R-SAFE-2: an update with a stale ETag never overwrites (If-Match).
pub async fn update_with_stale_etag_is_precondition_failed<C: Connector>(s: Subject<C>) {
    let meta = create(&s, "conf-stale", "V1").await;
    let v2 = sample_vcard("conf-stale", "V2");
    let etag2 = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &v2)
        .await
        .expect("first update");
    let err = s
        .connector
        .update(&s.collection, &meta.href, &meta.etag, &sample_vcard("conf-stale", "V3"))
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
    assert_eq!(body_of(&s, &meta.href).await, (etag2, v2), "V2 must survive");
}

/// R-SAFE-2: delete is conditional; deleting a gone item is NotFound (= done).
pub async fn delete_honours_etag_and_reports_gone_items<C: Connector>(s: Subject<C>) {
    let meta = create(&s, "conf-del", "Doomed").await;
    let etag2 = s
        .connector
        .update(
            &s.collection,
            &meta.href,
            &meta.etag,
            &sample_vcard("conf-del", "Edited"),
        )
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
        .update(&s.collection, &meta.href, &etag2, &sample_vcard("conf-del", "Zombie"))
        .await;
    assert!(
        matches!(update, Err(ConnectorError::NotFound { .. })),
        "an update must not resurrect a deleted item, got {update:?}"
    );
}

/// get_many lists a vanished href as missing instead of failing the batch.
pub async fn get_many_reports_missing_hrefs<C: Connector>(s: Subject<C>) {
    let meta = create(&s, "conf-get", "Present").await;
    let gone = create(&s, "conf-gone", "Gone").await;
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
pub async fn changes_since_token_show_writes_and_deletes<C: Connector>(s: Subject<C>) {
    let a = create(&s, "conf-a", "A").await;
    let b = create(&s, "conf-b", "B").await;
    let first = s.connector.changes(&s.collection, None).await.expect("changes");
    let mut view = BTreeMap::new();
    apply(&mut view, &first);
    assert_eq!(view.len(), 2);

    let a2 = s
        .connector
        .update(&s.collection, &a.href, &a.etag, &sample_vcard("conf-a", "A2"))
        .await
        .expect("update a");
    s.connector
        .delete(&s.collection, &b.href, &b.etag)
        .await
        .expect("delete b");
    let c = create(&s, "conf-c", "C").await;

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
        assert_eq!(second.deleted, vec![b.href.clone()], "delta must list the deletion");
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
pub async fn changes_with_unknown_token_give_complete_listing<C: Connector>(s: Subject<C>) {
    let a = create(&s, "conf-tok", "T").await;
    let bogus = crate::SyncToken::new("not-a-token-this-connector-issued");
    let listing = s
        .connector
        .changes(&s.collection, Some(&bogus))
        .await
        .expect("unknown token must not be an error");
    assert!(listing.complete, "unknown token must give a complete listing");
    assert_eq!(listing.changed, vec![a]);
}
