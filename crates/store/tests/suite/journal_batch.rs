//! `Records::journals_of` (R-VDIR-12): the journals of many records in one
//! query per 500 ids, each keyed to its own record, newest first, and only
//! of the entity asked for.

use crmsync_model::{EntityKind, NewJournalEntry, RecordRef, Role};
use crmsync_store::Store;

use crate::fixtures::*;

async fn note(store: &Store, record: &RecordRef, text: &str) {
    let entry = NewJournalEntry {
        text: text.into(),
        system: false,
    };
    store.records().add_journal_entry(record, None, entry).await.unwrap();
}

fn contact_ref(id: &str) -> RecordRef {
    RecordRef {
        entity: EntityKind::Contact,
        id: id.into(),
    }
}

store_test!(
    r_vdir_12_journals_of_keys_each_entry_to_its_record_across_500_ids,
    |store| {
        let owner = user(&store, "Owner", Role::User).await;
        let mut contacts = Vec::new();
        for name in ["First", "Split", "After", "Quiet"] {
            let c = store.records().create(owner.id(), contact(name, false)).await.unwrap();
            contacts.push(contact_ref(c.id()));
        }
        let [first, split, after, quiet] = &contacts[..] else {
            unreachable!()
        };
        // An activity under the first contact's id: same id, other entity.
        let activity = RecordRef {
            entity: EntityKind::Activity,
            id: first.id.clone(),
        };
        store
            .records()
            .create_with_id(&activity.id, owner.id(), task("Call"))
            .await
            .unwrap();
        // Notes interleaved across records, so created_at (and the insertion
        // order that breaks its ties) interleaves too.
        for (record, text) in [
            (first, "first 1"),
            (split, "split 1"),
            (&activity, "activity 1"),
            (first, "first 2"),
            (after, "after 1"),
            (split, "split 2"),
            (first, "first 3"),
            (&activity, "activity 2"),
            (after, "after 2"),
        ] {
            note(&store, record, text).await;
        }

        // 600 ids: the records sit on both sides of the split after 500.
        let mut ids: Vec<String> = (0..600).map(|n| format!("no-such-record-{n}")).collect();
        ids[0] = first.id.clone();
        ids[499] = split.id.clone();
        ids[500] = after.id.clone();
        ids[599] = quiet.id.clone();
        let journals = store.records().journals_of(EntityKind::Contact, &ids).await.unwrap();

        let texts = |r: &RecordRef| -> Vec<String> {
            journals
                .get(&r.id)
                .map(|j| j.iter().map(|e| e.text.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(texts(first), ["first 3", "first 2", "first 1"], "no activity note");
        assert_eq!(texts(split), ["split 2", "split 1"]);
        assert_eq!(texts(after), ["after 2", "after 1"]);
        assert!(!journals.contains_key(&quiet.id), "a record without notes has no entry");
        assert_eq!(journals.len(), 3);
        for r in [first, split, after] {
            let journal = &journals[&r.id];
            assert!(journal.iter().all(|e| e.record == *r), "each entry names its record");
            // The same entries, in the same order, as the one-record read.
            assert_eq!(*journal, store.records().journal_entries(r).await.unwrap());
        }

        let activities = store.records().journals_of(EntityKind::Activity, &ids).await.unwrap();
        let activity_texts: Vec<_> = activities[&activity.id].iter().map(|e| e.text.as_str()).collect();
        assert_eq!(activity_texts, ["activity 2", "activity 1"]);
        assert_eq!(activities.len(), 1);
    }
);
