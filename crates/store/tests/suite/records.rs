//! Each entity round-trips; versions are compared and set atomically.

use crmsync_model::{Account, Activity, ChangeOp, Contact, EntityKind, Lead, Role, User, UserFields};
use crmsync_store::StoreError;

use crate::fixtures::*;

store_test!(r_field_1_contact_round_trips_every_field, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let created = store
        .records()
        .create(owner.id(), full_contact("Lovelace"))
        .await
        .unwrap();
    assert_eq!(created.version(), 1);
    assert_eq!(created.owner_id(), owner.id());
    assert_eq!(created.meta.created_at, created.meta.modified_at);
    assert!(uuid::Uuid::parse_str(created.id()).is_ok_and(|u| u.get_version_num() == 4));
    let read: Contact = store.records().get(created.id()).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.fields, full_contact("Lovelace"));
});

store_test!(r_field_3_appointment_round_trips_participants_and_recurrence, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let guest = user(&store, "Guest", Role::User).await;
    let fields = full_appointment(owner.id(), guest.id());
    let created = store.records().create(owner.id(), fields.clone()).await.unwrap();
    let read: Activity = store.records().get(created.id()).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.fields, fields);
    assert_eq!(read.fields.participants.len(), 4);
    assert_eq!(read.fields.recurrence.as_ref().unwrap().overrides.len(), 1);
});

store_test!(account_lead_and_user_round_trip, |store| {
    let owner = user(&store, "Owner", Role::Admin).await;
    let account = store.records().create(owner.id(), account("Acme")).await.unwrap();
    assert_eq!(
        store
            .records()
            .get::<crmsync_model::AccountFields>(account.id())
            .await
            .unwrap(),
        account
    );
    let lead = store.records().create(owner.id(), lead("Hopper")).await.unwrap();
    let read: Lead = store.records().get(lead.id()).await.unwrap();
    assert_eq!(read.fields, crate::fixtures::lead("Hopper"));
    let other = store
        .records()
        .create(
            owner.id(),
            UserFields {
                name: "Made by admin".into(),
                ..Default::default()
            },
        )
        .await;
    let other: User = other.unwrap();
    assert_eq!(store.records().get::<UserFields>(other.id()).await.unwrap(), other);
    let _: Account = account;
});

store_test!(invalid_fields_are_refused_and_nothing_is_logged, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let before = store.records().latest_seq().await.unwrap();
    let err = store
        .records()
        .create(owner.id(), crmsync_model::ContactFields::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Validation(ref v) if v.field == "last_name"),
        "{err:?}"
    );
    let err = store
        .records()
        .create("no-such-user", contact("X", false))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: EntityKind::User,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.records().latest_seq().await.unwrap(), before);
});

store_test!(missing_record_is_not_found, |store| {
    let err = store
        .records()
        .get::<crmsync_model::ContactFields>("nope")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: EntityKind::Contact, ref id } if id == "nope"));
    let err = store
        .records()
        .update("nope", 1, contact("X", false))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
});

store_test!(stale_update_conflicts_and_changes_nothing, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let v1 = store
        .records()
        .create(owner.id(), contact("First", false))
        .await
        .unwrap();
    let v2 = store
        .records()
        .update(v1.id(), 1, contact("Second", false))
        .await
        .unwrap();
    assert_eq!(v2.version(), 2);
    assert!(v2.meta.modified_at >= v1.meta.modified_at);
    assert_eq!(v2.meta.created_at, v1.meta.created_at);
    let seq = store.records().latest_seq().await.unwrap();

    // Someone still holding version 1 loses, and learns the current version.
    let err = store
        .records()
        .update(v1.id(), 1, contact("Stale", false))
        .await
        .unwrap_err();
    match err {
        StoreError::VersionConflict {
            entity,
            ref id,
            expected,
            current,
        } => {
            assert_eq!(
                (entity, id.as_str(), expected, current),
                (EntityKind::Contact, v1.id(), 1, 2)
            );
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    let other = user(&store, "Other", Role::User).await;
    let err = store
        .records()
        .set_owner::<crmsync_model::ContactFields>(v1.id(), 1, other.id())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { current: 2, .. }), "{err:?}");
    let err = store
        .records()
        .delete::<crmsync_model::ContactFields>(v1.id(), Some(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { current: 2, .. }), "{err:?}");

    let now: Contact = store.records().get(v1.id()).await.unwrap();
    assert_eq!(now, v2);
    // Only the user creation above was logged since.
    let since = store.records().changes_since(seq, 100).await.unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].entity, EntityKind::User);
});

store_test!(set_owner_reassigns_and_bumps_version, |store| {
    let alice = user(&store, "Alice", Role::User).await;
    let bob = user(&store, "Bob", Role::User).await;
    let c = store
        .records()
        .create(alice.id(), contact("Moved", false))
        .await
        .unwrap();
    let moved = store
        .records()
        .set_owner::<crmsync_model::ContactFields>(c.id(), 1, bob.id())
        .await
        .unwrap();
    assert_eq!((moved.owner_id(), moved.version()), (bob.id(), 2));
    assert_eq!(moved.fields, c.fields);
    let last = store.records().changes_since(0, 0).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.op, last.owner_id.as_str(), last.version),
        (ChangeOp::Update, bob.id(), 2)
    );
    let err = store
        .records()
        .set_owner::<crmsync_model::ContactFields>(c.id(), 2, "ghost")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: EntityKind::User,
                ..
            }
        ),
        "{err:?}"
    );
});

store_test!(r_del_tombstone_keeps_last_state_until_purged, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let c = store.records().create(owner.id(), full_contact("Gone")).await.unwrap();
    let c = store.records().update(c.id(), 1, full_contact("Gone")).await.unwrap();
    store
        .records()
        .delete::<crmsync_model::ContactFields>(c.id(), Some(2))
        .await
        .unwrap();

    let err = store
        .records()
        .get::<crmsync_model::ContactFields>(c.id())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    let stone = store
        .records()
        .tombstone(EntityKind::Contact, c.id())
        .await
        .unwrap()
        .expect("tombstone kept");
    assert_eq!((stone.owner_id.as_str(), stone.last_version), (owner.id(), 2));
    let last_state: Contact = serde_json::from_value(stone.record.clone()).unwrap();
    assert_eq!(last_state, c);
    let delete = store.records().changes_since(0, 0).await.unwrap().pop().unwrap();
    assert_eq!(
        (delete.op, delete.record_id.as_str(), delete.version, delete.seq),
        (ChangeOp::Delete, c.id(), 2, stone.seq)
    );

    // A cursor short of the delete keeps it; one at the delete lets it go.
    assert_eq!(store.records().purge_tombstones(stone.seq - 1).await.unwrap(), 0);
    assert!(
        store
            .records()
            .tombstone(EntityKind::Contact, c.id())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.records().purge_tombstones(stone.seq).await.unwrap(), 1);
    assert!(
        store
            .records()
            .tombstone(EntityKind::Contact, c.id())
            .await
            .unwrap()
            .is_none()
    );

    // Deleting again: it is gone.
    let err = store
        .records()
        .delete::<crmsync_model::ContactFields>(c.id(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
});

store_test!(a_user_who_owns_records_cannot_be_deleted, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    store
        .records()
        .create(owner.id(), contact("Kept", false))
        .await
        .unwrap();
    let err = store
        .records()
        .delete::<UserFields>(owner.id(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.records().get::<UserFields>(owner.id()).await.is_ok());
});
