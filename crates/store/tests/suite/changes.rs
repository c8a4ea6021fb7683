//! The change log: one entry per write, in order, readable from any point.

use crmsync_model::{ChangeOp, ContactFields, EntityKind, Role};

use crate::fixtures::*;

store_test!(change_log_lists_every_write_in_order, |store| {
    assert_eq!(store.records().latest_seq().await.unwrap(), 0);
    let owner = user(&store, "Owner", Role::User).await;
    let a = store.records().create(owner.id(), contact("A", false)).await.unwrap();
    let b = store.records().create(owner.id(), contact("B", false)).await.unwrap();
    store.records().update(a.id(), 1, contact("A2", false)).await.unwrap();
    store.records().delete::<ContactFields>(b.id(), None).await.unwrap();
    let t = store.records().create(owner.id(), task("Call")).await.unwrap();

    let all = store.records().changes_since(0, 0).await.unwrap();
    let got: Vec<_> = all
        .iter()
        .map(|c| (c.seq, c.entity, c.record_id.as_str(), c.op, c.version))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, EntityKind::User, owner.id(), ChangeOp::Create, 1),
            (2, EntityKind::Contact, a.id(), ChangeOp::Create, 1),
            (3, EntityKind::Contact, b.id(), ChangeOp::Create, 1),
            (4, EntityKind::Contact, a.id(), ChangeOp::Update, 2),
            (5, EntityKind::Contact, b.id(), ChangeOp::Delete, 1),
            (6, EntityKind::Activity, t.id(), ChangeOp::Create, 1),
        ]
    );
    assert!(all.iter().all(|c| c.owner_id == owner.id()));
    assert_eq!(store.records().latest_seq().await.unwrap(), 6);

    // `since` returns exactly what follows, and `limit` pages it.
    let tail = store.records().changes_since(4, 0).await.unwrap();
    assert_eq!(tail.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![5, 6]);
    let page = store.records().changes_since(1, 2).await.unwrap();
    assert_eq!(page.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert!(store.records().changes_since(6, 0).await.unwrap().is_empty());
});
