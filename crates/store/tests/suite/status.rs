//! The sync status store (pairs, cursors, runs, journal, history, conflicts,
//! quarantine, duplicates) on both backends (R-SAFE-1/2, R-EXPLAIN-1, R-RESET-1).

use chrono::Utc;
use crmsync_engine::{Origin, PairState};
use crmsync_model::{ChangeOp, ContactFields, EntityKind, Role};
use crmsync_store::status::{ConflictResolution, ConflictRow, Cursor, HistoryEntry, PairRow, StepState};

use crate::fixtures::{contact, user};

fn pair(profile: &str, collection: &str, crm_id: &str, href: &str) -> PairRow {
    PairRow {
        id: format!("{profile}-{collection}-{crm_id}"),
        profile: profile.into(),
        collection: collection.into(),
        crm_id: crm_id.into(),
        href: href.into(),
        etag: "e1".into(),
        uid: Some(crm_id.into()),
        crm_version: 1,
        origin: Origin::Crm,
        state: PairState::Live,
        base: [("first_name", "Ada"), ("email1", "ada@example.org")]
            .into_iter()
            .collect(),
        facts: Some("{\"owner_is_user\":true}".into()),
        raw: Some("BEGIN:VCARD\r\nEND:VCARD\r\n".into()),
        updated_at: crate::fixtures::at(9, 0),
    }
}

store_test!(pairs_round_trip_and_replace_by_id, |store| {
    let p = pair("alice", "contacts", "c1", "c1.vcf");
    store.sync_state().save_pair(&p).await.unwrap();
    assert_eq!(
        store.sync_state().pairs("alice", "contacts").await.unwrap(),
        vec![p.clone()]
    );

    // Saving the same id again replaces it, even when href and version move.
    let mut moved = p.clone();
    moved.href = "renamed.vcf".into();
    moved.crm_version = 2;
    moved.base.set("email1", "ada@analytical.engine");
    store.sync_state().save_pair(&moved).await.unwrap();
    assert_eq!(
        store.sync_state().pairs("alice", "contacts").await.unwrap(),
        vec![moved.clone()]
    );
    assert_eq!(
        store.sync_state().pairs_of_record("alice", "c1").await.unwrap(),
        vec![moved]
    );
    assert!(
        store.sync_state().pairs("bob", "contacts").await.unwrap().is_empty(),
        "profiles are separate"
    );

    store.sync_state().delete_pair(&p.id).await.unwrap();
    assert!(store.sync_state().pairs("alice", "contacts").await.unwrap().is_empty());
});

store_test!(pairs_are_unique_per_record_and_per_item, |store| {
    store
        .sync_state()
        .save_pair(&pair("alice", "contacts", "c1", "c1.vcf"))
        .await
        .unwrap();
    // A second pair for the same CRM record (or the same item) would be a
    // duplicate: the store refuses it.
    let mut twin = pair("alice", "contacts", "c1", "other.vcf");
    twin.id = "twin".into();
    assert!(store.sync_state().save_pair(&twin).await.is_err());
    let mut twin = pair("alice", "contacts", "c2", "c1.vcf");
    twin.id = "twin2".into();
    assert!(store.sync_state().save_pair(&twin).await.is_err());
});

store_test!(r_reset_1_reset_forgets_pairs_and_cursors_not_data, |store| {
    let owner = user(&store, "Reset", Role::User).await;
    let record = store
        .records()
        .create(owner.id(), contact("Kept", false))
        .await
        .unwrap();
    store
        .sync_state()
        .save_pair(&pair("alice", "contacts", record.id(), "a.vcf"))
        .await
        .unwrap();
    store
        .sync_state()
        .save_pair(&pair("alice", "calendar", "e1", "e1.ics"))
        .await
        .unwrap();
    store
        .sync_state()
        .save_cursor(
            "alice",
            "contacts",
            &Cursor {
                crm_seq: 5,
                token: Some("t".into()),
            },
        )
        .await
        .unwrap();
    store
        .sync_state()
        .save_cursor(
            "alice",
            "calendar",
            &Cursor {
                crm_seq: 5,
                token: None,
            },
        )
        .await
        .unwrap();

    // One collection.
    assert_eq!(
        store
            .sync_state()
            .reset_pairs("alice", Some("contacts"), None)
            .await
            .unwrap(),
        1
    );
    assert!(store.sync_state().pairs("alice", "contacts").await.unwrap().is_empty());
    assert!(store.sync_state().cursor("alice", "contacts").await.unwrap().is_none());
    assert_eq!(store.sync_state().pairs("alice", "calendar").await.unwrap().len(), 1);
    assert!(store.sync_state().cursor("alice", "calendar").await.unwrap().is_some());
    // The CRM record itself is untouched.
    assert_eq!(
        store
            .records()
            .get::<crmsync_model::ContactFields>(record.id())
            .await
            .unwrap(),
        record
    );

    // One record.
    assert_eq!(
        store.sync_state().reset_pairs("alice", None, Some("e1")).await.unwrap(),
        1
    );
    assert!(store.sync_state().pairs("alice", "calendar").await.unwrap().is_empty());
});

store_test!(
    r_reset_2_reset_closes_the_open_conflicts_of_the_pairs_it_forgets,
    |store| {
        let kept_pair = pair("alice", "calendar", "e1", "e1.ics");
        let reset_pair = pair("alice", "contacts", "c1", "c1.vcf");
        store.sync_state().save_pair(&kept_pair).await.unwrap();
        store.sync_state().save_pair(&reset_pair).await.unwrap();
        let conflict = |id: &str, p: &PairRow| ConflictRow {
            id: id.into(),
            profile: "alice".into(),
            collection: p.collection.clone(),
            pair_id: p.id.clone(),
            crm_id: p.crm_id.clone(),
            href: p.href.clone(),
            fields: "[{\"key\":\"email1\"}]".into(),
            created_at: Utc::now(),
            resolved_at: None,
            resolution: None,
        };
        store
            .sync_state()
            .add_conflict(&conflict("on-reset", &reset_pair))
            .await
            .unwrap();
        store
            .sync_state()
            .add_conflict(&conflict("on-kept", &kept_pair))
            .await
            .unwrap();

        store
            .sync_state()
            .reset_pairs("alice", Some("contacts"), None)
            .await
            .unwrap();

        let open = store.sync_state().open_conflicts(Some("alice")).await.unwrap();
        assert_eq!(
            open.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["on-kept"],
            "only the conflict of the pair the reset kept stays open"
        );
        let closed = store.sync_state().conflict("on-reset").await.unwrap().unwrap();
        assert_eq!(closed.resolution, Some(ConflictResolution::Reset));
        assert!(closed.resolved_at.is_some());

        // A whole-profile reset closes the rest.
        store.sync_state().reset_pairs("alice", None, None).await.unwrap();
        assert!(
            store
                .sync_state()
                .open_conflicts(Some("alice"))
                .await
                .unwrap()
                .is_empty()
        );
    }
);

store_test!(cursors_and_min_seq, |store| {
    assert_eq!(store.sync_state().min_cursor_seq().await.unwrap(), None);
    store
        .sync_state()
        .save_cursor(
            "a",
            "contacts",
            &Cursor {
                crm_seq: 7,
                token: Some("t1".into()),
            },
        )
        .await
        .unwrap();
    store
        .sync_state()
        .save_cursor(
            "b",
            "contacts",
            &Cursor {
                crm_seq: 3,
                token: None,
            },
        )
        .await
        .unwrap();
    store
        .sync_state()
        .save_cursor(
            "a",
            "contacts",
            &Cursor {
                crm_seq: 9,
                token: Some("t2".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.sync_state().cursor("a", "contacts").await.unwrap(),
        Some(Cursor {
            crm_seq: 9,
            token: Some("t2".into())
        })
    );
    assert_eq!(store.sync_state().min_cursor_seq().await.unwrap(), Some(3));
});

store_test!(r_safe_2_journal_keeps_unfinished_steps_until_closed, |store| {
    let run = store.sync_state().begin_run("alice").await.unwrap();
    let actions = vec![
        "{\"a\":1}".to_string(),
        "{\"a\":2}".to_string(),
        "{\"a\":3}".to_string(),
    ];
    let first = store
        .sync_state()
        .journal_plan(&run.id, "alice", "contacts", &actions)
        .await
        .unwrap();
    assert_eq!(first, 1);
    store
        .sync_state()
        .journal_mark(&run.id, first, StepState::Done, None)
        .await
        .unwrap();
    store
        .sync_state()
        .journal_mark(&run.id, first + 1, StepState::Started, None)
        .await
        .unwrap();
    // A crash now leaves step 2 started and step 3 planned.
    let open = store.sync_state().journal_unfinished("alice").await.unwrap();
    assert_eq!(open.iter().map(|s| s.step).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(open[0].state, StepState::Started);
    assert_eq!(open[1].action, "{\"a\":3}");
    // A second plan in the same run continues the numbering.
    assert_eq!(
        store
            .sync_state()
            .journal_plan(&run.id, "alice", "calendar", &actions[..1])
            .await
            .unwrap(),
        4
    );
    for s in &open {
        store
            .sync_state()
            .journal_mark(&s.run_id, s.step, StepState::Replanned, Some("closed"))
            .await
            .unwrap();
    }
    store
        .sync_state()
        .journal_mark(&run.id, 4, StepState::Done, None)
        .await
        .unwrap();
    assert!(store.sync_state().journal_unfinished("alice").await.unwrap().is_empty());
    store
        .sync_state()
        .finish_run(&run.id, crmsync_store::status::RunState::Ok, Some("{}"), None)
        .await
        .unwrap();
    let runs = store.sync_state().runs("alice", 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, crmsync_store::status::RunState::Ok);
    assert!(runs[0].finished_at.is_some());
});

store_test!(r_explain_1_history_by_record_or_item_in_order, |store| {
    for (i, action) in ["groupware create", "crm update", "status unlink"].iter().enumerate() {
        store
            .sync_state()
            .add_history(&HistoryEntry {
                profile: "alice".into(),
                collection: "contacts".into(),
                crm_id: Some("c1".into()),
                href: (i > 0).then(|| "c1.vcf".to_string()),
                run_id: Some("r".into()),
                at: Utc::now(),
                action: action.to_string(),
                rule: format!("R-TEST-{i}"),
                message: format!("step {i}"),
                detail: None,
            })
            .await
            .unwrap();
    }
    let by_crm = store.sync_state().history("alice", Some("c1"), None).await.unwrap();
    assert_eq!(
        by_crm.iter().map(|h| h.rule.as_str()).collect::<Vec<_>>(),
        ["R-TEST-0", "R-TEST-1", "R-TEST-2"]
    );
    assert_eq!(
        store
            .sync_state()
            .history("alice", None, Some("c1.vcf"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .sync_state()
            .history("bob", Some("c1"), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.sync_state().run_history("r").await.unwrap().len(), 3);
});

store_test!(r_edit_3_conflicts_queue_once_and_resolve, |store| {
    let c = ConflictRow {
        id: "k1".into(),
        profile: "alice".into(),
        collection: "contacts".into(),
        pair_id: "p1".into(),
        crm_id: "c1".into(),
        href: "c1.vcf".into(),
        fields: "[{\"key\":\"email1\"}]".into(),
        created_at: Utc::now(),
        resolved_at: None,
        resolution: None,
    };
    store.sync_state().add_conflict(&c).await.unwrap();
    // The same conflict seen again by a re-run is not queued twice.
    let mut again = c.clone();
    again.id = "k2".into();
    assert_eq!(store.sync_state().add_conflict(&again).await.unwrap().id, "k1");
    assert_eq!(store.sync_state().open_conflicts(Some("alice")).await.unwrap().len(), 1);
    // A different conflict on the same pair supersedes the old one.
    let mut other = c.clone();
    other.id = "k3".into();
    other.fields = "[{\"key\":\"phone_mobile\"}]".into();
    store.sync_state().add_conflict(&other).await.unwrap();
    let open = store.sync_state().open_conflicts(None).await.unwrap();
    assert_eq!(open.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["k3"]);
    store
        .sync_state()
        .resolve_conflict("k3", ConflictResolution::Crm)
        .await
        .unwrap();
    assert!(
        store
            .sync_state()
            .open_conflicts(Some("alice"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.sync_state().conflict("k3").await.unwrap().unwrap().resolution,
        Some(ConflictResolution::Crm)
    );
});

store_test!(r_safe_4_quarantine_and_duplicates_reports, |store| {
    store
        .sync_state()
        .quarantine("alice", "contacts", "bad.vcf", "e1", "line 2: no END")
        .await
        .unwrap();
    store
        .sync_state()
        .quarantine("alice", "contacts", "bad.vcf", "e2", "line 3: no END")
        .await
        .unwrap();
    let q = store.sync_state().quarantined("alice").await.unwrap();
    assert_eq!(q.len(), 1, "one row per item, latest verdict");
    assert_eq!((q[0].etag.as_str(), q[0].error.as_str()), ("e2", "line 3: no END"));
    store
        .sync_state()
        .release_quarantine("alice", "contacts", "bad.vcf")
        .await
        .unwrap();
    assert!(store.sync_state().quarantined("alice").await.unwrap().is_empty());

    store
        .sync_state()
        .save_duplicates("alice", "contacts", "[1]")
        .await
        .unwrap();
    store
        .sync_state()
        .save_duplicates("alice", "contacts", "[2]")
        .await
        .unwrap();
    assert_eq!(
        store.sync_state().duplicates("alice").await.unwrap(),
        vec![("contacts".to_string(), "[2]".to_string())]
    );
});

store_test!(r_safe_2_create_with_id_is_idempotent, |store| {
    let owner = user(&store, "Idem", Role::User).await;
    let id = "5f0c1b9e-0000-4000-8000-000000000001";
    let first = store
        .records()
        .create_with_id(id, owner.id(), contact("Once", false))
        .await
        .unwrap();
    let second = store
        .records()
        .create_with_id(id, owner.id(), contact("Twice", false))
        .await
        .unwrap();
    assert_eq!(first, second, "the second call finds the first record");
    let changes = store.records().changes_since(0, 100).await.unwrap();
    assert_eq!(changes.iter().filter(|c| c.record_id == id).count(), 1, "created once");
});

// R-STORE-4, R-SYNC-ID-1 (model_based.regressions a9558c…): a record
// deleted, re-created under the same id (a groupware item re-imported after a
// reset) and deleted again keeps the newest tombstone; the second delete
// used to fail on the first one's key.
store_test!(r_store_4_an_id_deleted_twice_keeps_the_newest_tombstone, |store| {
    let owner = user(&store, "Twice", Role::User).await;
    let id = "5f0c1b9e-0000-4000-8000-000000000002";
    store
        .records()
        .create_with_id(id, owner.id(), contact("First life", false))
        .await
        .unwrap();
    store.records().delete::<ContactFields>(id, None).await.unwrap();
    store
        .records()
        .create_with_id(id, owner.id(), contact("Second life", false))
        .await
        .unwrap();
    store.records().delete::<ContactFields>(id, None).await.unwrap();
    let stone = store
        .records()
        .tombstone(EntityKind::Contact, id)
        .await
        .unwrap()
        .expect("kept");
    let last = store.records().changes_since(0, 100).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.op, last.seq),
        (ChangeOp::Delete, stone.seq),
        "the second delete's"
    );
    assert!(stone.record.to_string().contains("Second life"), "{}", stone.record);
});
