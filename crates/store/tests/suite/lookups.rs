//! Lookups for pairing and filters.

use crmsync_model::{ContactFields, PartyKind, Role};

use crate::fixtures::*;

store_test!(r_pair_1_lookups_by_email_and_name_ignore_case, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let c = store
        .records()
        .create(owner.id(), full_contact("Lovelace"))
        .await
        .unwrap();
    // email2 was stored as "Ada.Private@Example.COM".
    let found = store
        .records()
        .contacts_by_email("  ada.private@example.com ")
        .await
        .unwrap();
    assert_eq!(found.iter().map(|c| c.id()).collect::<Vec<_>>(), vec![c.id()]);
    assert_eq!(
        store
            .records()
            .contacts_by_email("LOVELACE@example.org")
            .await
            .unwrap()
            .len(),
        1
    );

    // The index follows updates: the old address no longer finds the contact.
    let mut changed = full_contact("Lovelace");
    changed.email2 = Some("new@example.com".into());
    store.records().update(c.id(), 1, changed).await.unwrap();
    assert!(
        store
            .records()
            .contacts_by_email("ada.private@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .records()
            .contacts_by_email("NEW@example.com")
            .await
            .unwrap()
            .len(),
        1
    );
    store.records().delete::<ContactFields>(c.id(), None).await.unwrap();
    assert!(
        store
            .records()
            .contacts_by_email("new@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    let acme = store.records().create(owner.id(), account("Acme GmbH")).await.unwrap();
    store.records().create(owner.id(), account("Acme GmbH")).await.unwrap();
    let found = store
        .records()
        .account_by_name("acme gmbh")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.id(), acme.id(), "the oldest of equally named accounts");
    assert!(store.records().account_by_name("Acme").await.unwrap().is_none());

    let users = store.records().users_by_email("OWNER@EXAMPLE.ORG").await.unwrap();
    assert_eq!(users.iter().map(|u| u.id()).collect::<Vec<_>>(), vec![owner.id()]);
});

store_test!(r_filter_1_activities_for_user_are_owned_or_invited, |store| {
    let alice = user(&store, "Alice", Role::User).await;
    let bob = user(&store, "Bob", Role::User).await;
    let own = store.records().create(alice.id(), task("Alice's own")).await.unwrap();
    let invited = store
        .records()
        .create(bob.id(), full_appointment(bob.id(), alice.id()))
        .await
        .unwrap();
    let mut not_invited = task("Alice listed, not invited");
    not_invited.participants = vec![participant(PartyKind::User, Some(alice.id()), None, false)];
    store.records().create(bob.id(), not_invited).await.unwrap();
    let mut contact_with_alices_id = task("A contact participant is not the user");
    contact_with_alices_id.participants = vec![participant(PartyKind::Contact, Some(alice.id()), None, true)];
    store.records().create(bob.id(), contact_with_alices_id).await.unwrap();

    let mut ids: Vec<_> = store
        .records()
        .activities_for_user(alice.id())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.meta.id)
        .collect();
    ids.sort();
    let mut want = vec![own.id().to_string(), invited.id().to_string()];
    want.sort();
    assert_eq!(ids, want);

    // Uninviting Alice takes the meeting out of her set in the same write.
    let mut fields = invited.fields.clone();
    fields.participants.retain(|p| !p.is_user(alice.id()));
    store.records().update(invited.id(), 1, fields).await.unwrap();
    let ids: Vec<_> = store
        .records()
        .activities_for_user(alice.id())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.meta.id)
        .collect();
    assert_eq!(ids, vec![own.id().to_string()]);
});
