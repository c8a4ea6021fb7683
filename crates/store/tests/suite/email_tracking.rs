//! E-mail activities by message key and the mail tracking status (SPEC §10).

use crmsync_model::{ActivityFields, ActivityKind, Role};
use crmsync_model::{ContactFields, LeadFields};
use crmsync_store::status::{MailFolderRow, TrackedMailRow};
use crmsync_store::{EmailCreate, NewSender, NewSenderRecord};

use crate::fixtures::*;

fn email(subject: &str) -> ActivityFields {
    let mut f = ActivityFields::new(ActivityKind::Email, subject);
    f.message_id = Some("m1@example.com".into());
    f
}

store_test!(
    r_track_5_one_message_key_is_one_crm_email_even_when_created_at_once,
    |store| {
        let alice = user(&store, "Alice", Role::User).await;
        let bob = user(&store, "Bob", Role::User).await;
        let first = store
            .records()
            .create_email(alice.id(), "m1@example.com", email("Offer"))
            .await
            .unwrap();
        let EmailCreate::Created(created) = first else {
            panic!("the first create creates: {first:?}")
        };
        let again = store
            .records()
            .create_email(bob.id(), "m1@example.com", email("Offer"))
            .await
            .unwrap();
        assert!(
            matches!(&again, EmailCreate::Existing(a) if a.meta.id == created.meta.id),
            "{again:?}"
        );
        assert_eq!(
            store
                .records()
                .email_by_message_key("m1@example.com")
                .await
                .unwrap()
                .unwrap()
                .meta
                .id,
            created.meta.id
        );
        assert!(
            store
                .records()
                .email_by_message_key("other@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .records()
                .known_message_keys(&["m1@example.com".into(), "nope@example.com".into()])
                .await
                .unwrap(),
            ["m1@example.com"]
        );

        // Eight profiles racing on one new message: exactly one record.
        let mut racers = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let owner = if i % 2 == 0 {
                alice.id().to_string()
            } else {
                bob.id().to_string()
            };
            racers.push(tokio::spawn(async move {
                store
                    .records()
                    .create_email(&owner, "race@example.com", email("Race"))
                    .await
                    .unwrap()
            }));
        }
        let mut created = 0;
        for r in racers {
            if matches!(r.await.unwrap(), EmailCreate::Created(_)) {
                created += 1;
            }
        }
        assert_eq!(created, 1);

        // Deleting the CRM e-mail frees the key (the message may be tracked anew).
        let e = store
            .records()
            .email_by_message_key("m1@example.com")
            .await
            .unwrap()
            .unwrap();
        store
            .records()
            .delete::<ActivityFields>(&e.meta.id, None)
            .await
            .unwrap();
        assert!(
            store
                .records()
                .email_by_message_key("m1@example.com")
                .await
                .unwrap()
                .is_none()
        );
    }
);

store_test!(
    r_track_2_the_unknown_senders_record_is_stored_with_its_email_or_not_at_all,
    |store| {
        let alice = user(&store, "Alice", Role::User).await;
        let bob = user(&store, "Bob", Role::User).await;
        let nina = || {
            NewSender::new(NewSenderRecord::Contact(Box::new(ContactFields {
                last_name: Some("Neu".into()),
                email1: Some("nina@newco.example".into()),
                ..ContactFields::default()
            })))
        };
        // Eight mailboxes racing on one message from one unknown sender.
        let mut racers = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let owner = if i % 2 == 0 { alice.id() } else { bob.id() }.to_string();
            let sender = nina();
            racers.push(tokio::spawn(async move {
                store
                    .records()
                    .create_email_with_sender(&owner, "new@newco.example", email("Hello"), Some(sender))
                    .await
                    .unwrap()
            }));
        }
        let mut created = 0;
        for r in racers {
            if let EmailCreate::Created(e) = r.await.unwrap() {
                created += 1;
                let contacts = store.records().contacts_by_email("nina@newco.example").await.unwrap();
                assert_eq!(contacts.len(), 1, "one contact, made with the e-mail");
                assert_eq!(contacts[0].meta.owner_id, e.meta.owner_id);
            }
        }
        assert_eq!(created, 1);
        assert_eq!(
            store
                .records()
                .contacts_by_email("nina@newco.example")
                .await
                .unwrap()
                .len(),
            1
        );
        // A lead sender, and an invalid one refuses the whole write.
        let lead = NewSender::new(NewSenderRecord::Lead(LeadFields {
            email: Some("piet@p.example".into()),
            ..LeadFields::default()
        }));
        let id = lead.id.clone();
        store
            .records()
            .create_email_with_sender(alice.id(), "l@p.example", email("Lead"), Some(lead))
            .await
            .unwrap();
        assert_eq!(
            store.records().get::<LeadFields>(&id).await.unwrap().meta.owner_id,
            alice.id()
        );
        let bad = NewSender::new(NewSenderRecord::Contact(Box::default()));
        assert!(
            store
                .records()
                .create_email_with_sender(alice.id(), "bad@p.example", email("Bad"), Some(bad))
                .await
                .is_err()
        );
        assert!(
            store
                .records()
                .email_by_message_key("bad@p.example")
                .await
                .unwrap()
                .is_none()
        );
    }
);

// R-GRAPH-25: a Graph folder's delta link is kept beside the position and
// replaced by the next save.
store_test!(r_graph_25_a_mail_folders_delta_link_round_trips, |store| {
    let link = "https://graph.microsoft.com/v1.0/users/a/mailFolders/F/messages/delta?$deltatoken=x";
    let at = MailFolderRow {
        uid_validity: 7,
        highest_modseq: None,
        uid_next: 0,
        cursor: Some(link.into()),
    };
    store.sync_state().save_mail_folder("p", "CRM", &at).await.unwrap();
    assert_eq!(
        store.sync_state().mail_folder("p", "CRM").await.unwrap(),
        Some(at.clone())
    );
    let next = MailFolderRow {
        cursor: Some(format!("{link}2")),
        ..at
    };
    store.sync_state().save_mail_folder("p", "CRM", &next).await.unwrap();
    assert_eq!(store.sync_state().mail_folder("p", "CRM").await.unwrap(), Some(next));
});

store_test!(r_track_mail_2_folder_positions_and_tracked_rows_round_trip, |store| {
    assert!(store.sync_state().mail_folder("p", "CRM").await.unwrap().is_none());
    let at = MailFolderRow {
        uid_validity: 4_000_000_000,
        highest_modseq: Some(1 << 40),
        uid_next: 17,
        cursor: None,
    };
    store.sync_state().save_mail_folder("p", "CRM", &at).await.unwrap();
    assert_eq!(
        store.sync_state().mail_folder("p", "CRM").await.unwrap(),
        Some(at.clone())
    );
    let without_condstore = MailFolderRow {
        highest_modseq: None,
        ..at
    };
    store
        .sync_state()
        .save_mail_folder("p", "CRM", &without_condstore)
        .await
        .unwrap();
    assert_eq!(
        store.sync_state().mail_folder("p", "CRM").await.unwrap(),
        Some(without_condstore)
    );

    let mut row = TrackedMailRow {
        message_key: "k@x".into(),
        activity_id: "a1".into(),
        folder: "CRM".into(),
        uid_validity: 4_000_000_000,
        uid: 3,
        trigger: "folder".into(),
        tracked: true,
        marked: false,
    };
    store.sync_state().save_tracked_mail("p", &row).await.unwrap();
    row.tracked = false;
    row.marked = true;
    store.sync_state().save_tracked_mail("p", &row).await.unwrap();
    assert_eq!(store.sync_state().tracked_mail("p").await.unwrap(), [row]);
    assert!(store.sync_state().tracked_mail("other").await.unwrap().is_empty());
    store.sync_state().forget_mail_folders("p").await.unwrap();
    assert!(store.sync_state().mail_folder("p", "CRM").await.unwrap().is_none());
});

// R-GRAPH-42: Graph's 63-bit UIDs and UIDVALIDITYs are stored as they are;
// a value beyond the signed BIGINT is refused, never wrapped, and a batch
// holding one writes nothing.
store_test!(r_graph_42_63_bit_uids_round_trip_and_larger_ones_are_refused, |store| {
    let state = store.sync_state();
    let wide = TrackedMailRow {
        uid_validity: (1 << 62) | 5,
        uid: i64::MAX as u64,
        ..tracked_row("wide@x", 0)
    };
    state.save_tracked_mail("p", &wide).await.unwrap();
    assert_eq!(state.tracked_mail("p").await.unwrap(), std::slice::from_ref(&wide));
    let at = MailFolderRow {
        uid_validity: (1 << 62) | 5,
        highest_modseq: None,
        uid_next: 0,
        cursor: Some("https://graph.microsoft.com/v1.0/x".into()),
    };
    state.save_mail_folder("p", "CRM", &at).await.unwrap();
    assert_eq!(state.mail_folder("p", "CRM").await.unwrap(), Some(at.clone()));

    let too_large = TrackedMailRow {
        uid: i64::MAX as u64 + 1,
        ..tracked_row("large@x", 0)
    };
    let err = state
        .save_tracked_mails("p", &[tracked_row("fine@x", 9), too_large.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(err, crmsync_store::StoreError::OutOfRange { what: "UID", value } if value == 1 << 63),
        "{err:?}"
    );
    assert_eq!(state.tracked_mail("p").await.unwrap(), [wide], "nothing of the batch");
    let folder_too_large = MailFolderRow {
        uid_validity: u64::MAX,
        ..at.clone()
    };
    assert!(state.save_mail_folder("p", "CRM", &folder_too_large).await.is_err());
    assert_eq!(state.mail_folder("p", "CRM").await.unwrap(), Some(at));
});

fn tracked_row(key: &str, uid: u64) -> TrackedMailRow {
    TrackedMailRow {
        message_key: key.into(),
        activity_id: String::new(),
        folder: "CRM".into(),
        uid_validity: 7,
        uid,
        trigger: "folder".into(),
        tracked: true,
        marked: false,
    }
}

fn chunk(keys: &[&str]) -> Vec<crmsync_store::NewTrackedEmail> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| crmsync_store::NewTrackedEmail {
            key: key.to_string(),
            fields: email(key),
            sender: None,
            row: tracked_row(key, i as u64 + 1),
        })
        .collect()
}

store_test!(
    r_track_mail_6_a_chunk_of_new_emails_and_their_status_rows_commit_together,
    |store| {
        let alice = user(&store, "Alice", Role::User).await;
        let bob = user(&store, "Bob", Role::User).await;
        let EmailCreate::Created(earlier) = store
            .records()
            .create_email(bob.id(), "old@example.com", email("Old"))
            .await
            .unwrap()
        else {
            panic!("created")
        };
        // A new key, one in the CRM already, one twice in the chunk.
        let emails = chunk(&["a@example.com", "old@example.com", "b@example.com", "a@example.com"]);
        let done = store
            .records()
            .create_tracked_emails(alice.id(), "alice-mail", &emails)
            .await
            .unwrap();
        let kinds: Vec<&str> = done
            .iter()
            .map(|d| match d {
                EmailCreate::Created(_) => "created",
                EmailCreate::Existing(_) => "existing",
            })
            .collect();
        assert_eq!(kinds, ["created", "existing", "created", "existing"]);
        let EmailCreate::Existing(old) = &done[1] else {
            unreachable!()
        };
        assert_eq!(old.meta.id, earlier.meta.id);
        let EmailCreate::Existing(twice) = &done[3] else {
            unreachable!()
        };
        let EmailCreate::Created(first) = &done[0] else {
            unreachable!()
        };
        assert_eq!(twice.meta.id, first.meta.id, "twice in a chunk is one e-mail");
        // Status rows only for what was created, naming the new e-mails.
        let rows = store.sync_state().tracked_mail("alice-mail").await.unwrap();
        let saved: Vec<(String, String, u64)> = rows
            .iter()
            .map(|r| (r.message_key.clone(), r.activity_id.clone(), r.uid))
            .collect();
        let EmailCreate::Created(b) = &done[2] else {
            unreachable!()
        };
        assert_eq!(
            saved,
            [
                ("a@example.com".to_string(), first.meta.id.clone(), 1),
                ("b@example.com".to_string(), b.meta.id.clone(), 3)
            ]
        );

        // An owner that does not exist: nothing of the chunk is written.
        let failed = store
            .records()
            .create_tracked_emails("no-such-user", "alice-mail", &chunk(&["c@example.com"]))
            .await;
        assert!(failed.is_err(), "{failed:?}");
        assert!(
            store
                .records()
                .email_by_message_key("c@example.com")
                .await
                .unwrap()
                .is_none()
        );

        // Four profiles storing overlapping chunks at once: each key is one
        // CRM e-mail, and every answer names it.
        let mut racers = Vec::new();
        for i in 0..4 {
            let store = store.clone();
            let owner = if i % 2 == 0 {
                alice.id().to_string()
            } else {
                bob.id().to_string()
            };
            racers.push(tokio::spawn(async move {
                let keys = ["r1@example.com", "r2@example.com", "r3@example.com"];
                store
                    .records()
                    .create_tracked_emails(&owner, &format!("p{i}"), &chunk(&keys))
                    .await
                    .unwrap()
            }));
        }
        let mut ids = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for racer in racers {
            for (i, outcome) in racer.await.unwrap().into_iter().enumerate() {
                let id = match outcome {
                    EmailCreate::Created(a) | EmailCreate::Existing(a) => a.meta.id,
                };
                ids.entry(format!("r{}", i + 1)).or_default().insert(id);
            }
        }
        assert!(ids.values().all(|set| set.len() == 1), "{ids:?}");
        for key in ["r1@example.com", "r2@example.com", "r3@example.com"] {
            assert!(store.records().email_by_message_key(key).await.unwrap().is_some());
        }
    }
);

store_test!(r_track_6_many_addresses_resolve_in_one_lookup_per_kind, |store| {
    let alice = user(&store, "Alice", Role::User).await;
    let contact = |first: &str, email: &str| ContactFields {
        first_name: Some(first.into()),
        last_name: Some("Kunde".into()),
        email1: Some(email.into()),
        ..ContactFields::default()
    };
    let carla = store
        .records()
        .create(alice.id(), contact("Carla", "carla@customer.example"))
        .await
        .unwrap();
    let second = store
        .records()
        .create(alice.id(), contact("Carl", "Carla@Customer.example"))
        .await
        .unwrap();
    let lena = LeadFields {
        last_name: Some("Lead".into()),
        email: Some("lena@prospect.example".into()),
        ..LeadFields::default()
    };
    let lena = store.records().create(alice.id(), lena).await.unwrap();
    let asked = [
        " CARLA@customer.example".to_string(),
        "lena@prospect.example".into(),
        "alice@example.org".into(),
        "nobody@example.com".into(),
    ];
    let contacts = store.records().contacts_by_emails(&asked).await.unwrap();
    let ids: Vec<&str> = contacts["carla@customer.example"].iter().map(|c| c.id()).collect();
    assert_eq!(ids, [carla.id(), second.id()], "both, oldest first");
    assert_eq!(contacts.len(), 1);
    let leads = store.records().leads_by_emails(&asked).await.unwrap();
    assert_eq!(leads["lena@prospect.example"][0].id(), lena.id());
    assert_eq!(leads.len(), 1);
    let users = store.records().users_by_emails(&asked).await.unwrap();
    assert_eq!(users["alice@example.org"][0].id(), alice.id());
    assert_eq!(users.len(), 1);
});

// R-WEB-19: a user's untrack (`released`) is final against the mail
// runner's writes of the row, also one from a run that read the row before
// the user untracked it: saving it tracked or untracked leaves it released.
store_test!(r_web_19_a_runners_write_leaves_a_released_row_released, |store| {
    let state = store.sync_state();
    let mut row = tracked_row("k@x", 3);
    state.save_tracked_mail("p", &row).await.unwrap();
    assert!(state.release_tracked_mail("p", "k@x").await.unwrap());
    row.marked = true;
    state.save_tracked_mail("p", &row).await.unwrap();
    row.tracked = false;
    state.save_tracked_mails("p", std::slice::from_ref(&row)).await.unwrap();
    assert!(state.released_mail_keys("p").await.unwrap().contains("k@x"));
    assert!(!state.release_tracked_mail("p", "k@x").await.unwrap(), "still released");
});
