//! The in-memory connector's test hooks: fault injection, lost replies, edits
//! behind the sync's back, expiring tokens, collection creation rules.

use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::memory::{Fault, MemoryConnector, Op};
use crmsync_connector::{CollectionKind, Connector, ConnectorError, Href};

fn contacts() -> (MemoryConnector, crmsync_connector::CollectionId) {
    let m = MemoryConnector::new();
    let id = m.add_collection(CollectionKind::Contacts, "contacts");
    (m, id)
}

#[tokio::test]
async fn injected_transient_faults_fail_exactly_n_calls_and_change_nothing() {
    let (m, id) = contacts();
    m.fail_next(Op::Create, 2, Fault::ServiceUnavailable);
    for _ in 0..2 {
        let err = m.create(&id, "u1", &sample_vcard("u1", "X")).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(matches!(err, ConnectorError::Server { status: 503, .. }));
    }
    assert!(
        m.hrefs(&id).is_empty(),
        "a call failing before the write must not apply it"
    );
    m.create(&id, "u1", &sample_vcard("u1", "X"))
        .await
        .expect("third call succeeds");
    assert_eq!(m.calls(Op::Create), 3);
    assert_eq!(m.hrefs(&id).len(), 1);
}

// R-SAFE-2: a write whose reply is lost is applied; the retry meets AlreadyExists
// and the listing shows the item, so a re-run can pair instead of duplicating.
#[tokio::test]
async fn a_lost_reply_leaves_the_write_applied() {
    let (m, id) = contacts();
    m.lose_reply_next(Op::Create, 1);
    let err = m.create(&id, "u1", &sample_vcard("u1", "X")).await.unwrap_err();
    assert!(err.is_transient(), "a lost reply looks like a timeout: {err:?}");
    let retry = m.create(&id, "u1", &sample_vcard("u1", "X")).await.unwrap_err();
    assert!(matches!(retry, ConnectorError::AlreadyExists { .. }), "{retry:?}");
    let listing = m.changes(&id, None).await.unwrap();
    assert_eq!(listing.changed.len(), 1, "exactly one item, no duplicate");

    // A lost update reply: the old ETag is stale now, the new body is stored.
    let href = listing.changed[0].href.clone();
    let old = listing.changed[0].etag.clone();
    m.lose_reply_next(Op::Update, 1);
    m.update(&id, &href, &old, &sample_vcard("u1", "Y")).await.unwrap_err();
    let (_, body) = m.peek(&id, &href).unwrap();
    assert_eq!(body, sample_vcard("u1", "Y"));
    let again = m.update(&id, &href, &old, &sample_vcard("u1", "Y")).await.unwrap_err();
    assert!(matches!(again, ConnectorError::PreconditionFailed { .. }));
}

#[tokio::test]
async fn edits_behind_the_back_change_etags_and_show_in_deltas() {
    let (m, id) = contacts();
    let meta = m.create(&id, "u1", &sample_vcard("u1", "X")).await.unwrap();
    let token = m.changes(&id, None).await.unwrap().new_token;

    let etag = m
        .external_put(&id, &meta.href, &sample_vcard("u1", "Edited by phone"))
        .unwrap();
    assert_ne!(etag, meta.etag);
    let stale = m.update(&id, &meta.href, &meta.etag, &sample_vcard("u1", "Sync")).await;
    assert!(
        matches!(stale, Err(ConnectorError::PreconditionFailed { .. })),
        "{stale:?}"
    );

    let other = Href::new("from-phone.vcf");
    m.external_put(&id, &other, &sample_vcard("p", "Phone")).unwrap();
    assert!(m.external_delete(&id, &meta.href).unwrap());
    let delta = m.changes(&id, Some(&token)).await.unwrap();
    assert!(!delta.complete);
    assert_eq!(delta.changed.len(), 1);
    assert_eq!(delta.changed[0].href, other);
    assert_eq!(delta.deleted, vec![meta.href]);
}

#[tokio::test]
async fn every_write_gets_a_new_etag_even_with_the_same_body() {
    let (m, id) = contacts();
    let meta = m.create(&id, "u1", &sample_vcard("u1", "X")).await.unwrap();
    let e2 = m
        .update(&id, &meta.href, &meta.etag, &sample_vcard("u1", "X"))
        .await
        .unwrap();
    assert_ne!(e2, meta.etag);
}

#[tokio::test]
async fn expired_tokens_get_a_complete_listing() {
    let (m, id) = contacts();
    m.create(&id, "u1", &sample_vcard("u1", "X")).await.unwrap();
    let token = m.changes(&id, None).await.unwrap().new_token;
    m.create(&id, "u2", &sample_vcard("u2", "Y")).await.unwrap();
    m.expire_tokens(&id);
    let after = m.changes(&id, Some(&token)).await.unwrap();
    assert!(after.complete);
    assert_eq!(after.changed.len(), 2);
    // A token from another instance is unknown here, not a position.
    let (other, other_id) = contacts();
    other.create(&other_id, "z", &sample_vcard("z", "Z")).await.unwrap();
    let foreign = other.changes(&other_id, None).await.unwrap().new_token;
    assert!(m.changes(&id, Some(&foreign)).await.unwrap().complete);
}

#[tokio::test]
async fn suggested_names_map_to_distinct_hrefs() {
    let (m, id) = contacts();
    let slash = m.create(&id, "a/b", b"1").await.unwrap();
    let underscore = m.create(&id, "a_b", b"2").await.unwrap();
    assert_ne!(slash.href, underscore.href);
    assert!(!slash.href.as_str().contains('/'));
}

#[tokio::test]
async fn ensure_collection_creates_reuses_and_checks_kind() {
    let m = MemoryConnector::new();
    let cal = m
        .ensure_collection(CollectionKind::EventsAndTasks, "calendar")
        .await
        .unwrap();
    let again = m.ensure_collection(CollectionKind::Tasks, "calendar").await.unwrap();
    assert_eq!(cal, again, "an events+tasks calendar serves tasks");
    let wrong = m.ensure_collection(CollectionKind::Contacts, "calendar").await;
    assert!(matches!(wrong, Err(ConnectorError::KindMismatch { .. })), "{wrong:?}");
    m.set_allow_collection_creation(false);
    let refused = m.ensure_collection(CollectionKind::Contacts, "book").await;
    assert!(
        matches!(refused, Err(ConnectorError::Unsupported { .. })),
        "{refused:?}"
    );
    assert_eq!(m.discover().await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_collection_is_not_found() {
    let m = MemoryConnector::new();
    let err = m
        .changes(&crmsync_connector::CollectionId::new("nope"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound { .. }));
}
