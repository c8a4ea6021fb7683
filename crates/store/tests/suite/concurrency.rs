//! Several writers at once: the change log stays gap-free and a reader
//! following it with `since` never skips a change that commits late.

use std::collections::BTreeSet;

use crmsync_model::{ContactFields, Role};

use crate::fixtures::*;

const WRITERS: usize = 6;
const RECORDS_PER_WRITER: usize = 8;
/// Each record: a create and two updates.
const CHANGES_PER_RECORD: usize = 3;

store_test!(concurrent_writers_make_a_gap_free_commit_ordered_log, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let start = store.records().latest_seq().await.unwrap();
    let total = WRITERS * RECORDS_PER_WRITER * CHANGES_PER_RECORD;

    // The reader follows the log as a sync would: from the last seq it saw.
    // Had a later number committed before an earlier one, it would see a jump.
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut last = start;
            let mut seen = Vec::new();
            let mut polls = 0u32;
            while seen.len() < total {
                polls += 1;
                assert!(
                    polls < 200_000,
                    "reader gave up after {} of {total} changes",
                    seen.len()
                );
                for change in store.records().changes_since(last, 0).await.unwrap() {
                    assert_eq!(change.seq, last + 1, "the log skipped a number");
                    last = change.seq;
                    seen.push((change.record_id, change.version));
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let owner = owner.id().to_string();
        writers.push(tokio::spawn(async move {
            for i in 0..RECORDS_PER_WRITER {
                let c = store
                    .records()
                    .create(&owner, contact(&format!("W{w}-{i}"), false))
                    .await
                    .unwrap();
                let c = store
                    .records()
                    .update(c.id(), 1, contact(&format!("W{w}-{i}b"), false))
                    .await
                    .unwrap();
                store
                    .records()
                    .update(c.id(), 2, contact(&format!("W{w}-{i}c"), false))
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();

    assert_eq!(seen.len(), total);
    assert_eq!(store.records().latest_seq().await.unwrap(), start + total as i64);
    let distinct: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), total, "each (record, version) logged once");
    let records = store
        .records()
        .list::<ContactFields>(&crmsync_store::ListQuery::default())
        .await
        .unwrap();
    assert_eq!(records.items.len(), WRITERS * RECORDS_PER_WRITER);
    assert!(records.items.iter().all(|r| r.version() == 3));
});
