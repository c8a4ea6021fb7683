//! Journal entries (R-FIELD-5) and synchronize flags (R-FILTER-1).

use crmsync_model::{ChangeOp, Contact, ContactFields, EntityKind, NewJournalEntry, RecordRef, Role};
use crmsync_store::StoreError;

use crate::fixtures::*;

store_test!(r_field_5_user_journal_entry_bumps_the_record, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let c = store
        .records()
        .create(owner.id(), contact("Noted", false))
        .await
        .unwrap();
    let r = RecordRef {
        entity: EntityKind::Contact,
        id: c.id().to_string(),
    };

    let first = store
        .records()
        .add_journal_entry(
            &r,
            Some(owner.id()),
            NewJournalEntry {
                text: "first".into(),
                system: false,
            },
        )
        .await
        .unwrap();
    let after: Contact = store.records().get(c.id()).await.unwrap();
    assert_eq!(after.version(), 2, "the groupware notes change, so the record does");
    let last = store.records().changes_since(0, 0).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.op, last.record_id.as_str(), last.version),
        (ChangeOp::Update, c.id(), 2)
    );

    // A system entry is stored but is not part of the groupware notes.
    let seq = store.records().latest_seq().await.unwrap();
    store
        .records()
        .add_journal_entry(
            &r,
            None,
            NewJournalEntry {
                text: "system".into(),
                system: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.records().get::<ContactFields>(c.id()).await.unwrap().version(), 2);
    assert_eq!(store.records().latest_seq().await.unwrap(), seq);

    let second = store
        .records()
        .add_journal_entry(
            &r,
            Some(owner.id()),
            NewJournalEntry {
                text: "second".into(),
                system: false,
            },
        )
        .await
        .unwrap();
    let journal = store.records().journal_entries(&r).await.unwrap();
    let texts: Vec<_> = journal.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, vec!["second", "system", "first"], "newest first");
    assert_eq!(journal[0], second);
    assert_eq!(journal[2], first);

    let err = store
        .records()
        .add_journal_entry(
            &r,
            None,
            NewJournalEntry {
                text: " ".into(),
                system: false,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Validation(_)));
    let ghost = RecordRef {
        entity: EntityKind::Lead,
        id: "ghost".into(),
    };
    let err = store
        .records()
        .add_journal_entry(
            &ghost,
            None,
            NewJournalEntry {
                text: "x".into(),
                system: false,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: EntityKind::Lead,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        store.records().journal_entries(&ghost).await.unwrap().is_empty(),
        "the failed write left nothing"
    );

    // Deleting the record takes its journal with it.
    store.records().delete::<ContactFields>(c.id(), None).await.unwrap();
    assert!(store.records().journal_entries(&r).await.unwrap().is_empty());
});

store_test!(r_filter_1_sync_flag_logs_an_update_without_bumping_version, |store| {
    let alice = user(&store, "Alice", Role::User).await;
    let bob = user(&store, "Bob", Role::User).await;
    let shared = store.records().create(bob.id(), contact("Shared", true)).await.unwrap();
    let private = store
        .records()
        .create(bob.id(), contact("Private", false))
        .await
        .unwrap();

    store
        .records()
        .set_sync_flag(alice.id(), shared.id(), true)
        .await
        .unwrap();
    assert_eq!(
        store
            .records()
            .sync_flags(alice.id())
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![shared.id().to_string()]
    );
    assert!(store.records().sync_flags(bob.id()).await.unwrap().is_empty());
    let last = store.records().changes_since(0, 0).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.op, last.record_id.as_str(), last.version),
        (ChangeOp::Update, shared.id(), 1)
    );
    assert_eq!(
        store.records().get::<ContactFields>(shared.id()).await.unwrap(),
        shared,
        "flag is not part of the contact"
    );

    // Setting it again changes nothing and logs nothing.
    let seq = store.records().latest_seq().await.unwrap();
    store
        .records()
        .set_sync_flag(alice.id(), shared.id(), true)
        .await
        .unwrap();
    assert_eq!(store.records().latest_seq().await.unwrap(), seq);

    store
        .records()
        .set_sync_flag(alice.id(), shared.id(), false)
        .await
        .unwrap();
    assert!(store.records().sync_flags(alice.id()).await.unwrap().is_empty());
    assert_eq!(store.records().latest_seq().await.unwrap(), seq + 1);

    // R-PERM-1: no flag on a contact Alice may not read.
    let err = store
        .records()
        .set_sync_flag(alice.id(), private.id(), true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert!(store.records().sync_flags(alice.id()).await.unwrap().is_empty());

    // Deleting the contact drops the flags on it.
    store
        .records()
        .set_sync_flag(alice.id(), shared.id(), true)
        .await
        .unwrap();
    store
        .records()
        .delete::<ContactFields>(shared.id(), None)
        .await
        .unwrap();
    assert!(store.records().sync_flags(alice.id()).await.unwrap().is_empty());
});
