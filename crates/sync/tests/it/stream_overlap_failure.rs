//! R-SYNC-STREAM-3: the next batch of a streamed first sync is prepared
//! (read, mapped, planned, journaled) beside the batch before's writes.
//! When that preparation fails, the run reports the error after the batch
//! before is applied: its writes, the last chunk's too (carried to be
//! recorded beside the next batch's first writes, R-VDIR-15), are recorded;
//! nothing of the next batch is sent; a re-run converges with no duplicate.
//!
//! The failures are real ones of the SQLite store, made to strike only the
//! second batch: a journal entry of one of its contacts that cannot be read
//! (the load), and a trigger that refuses its journal rows (the journal).

use crate::common;
use std::collections::BTreeSet;

use common::{World, applied, writes};
use crmsync_engine::Action;
use crmsync_store::status::StepState;
use crmsync_sync::{STREAM_BATCH, SyncError};

/// Two batches: the first whole, the second a fifth of one.
const CONTACTS: usize = STREAM_BATCH + 100;

/// A world of `CONTACTS` contacts and their ids in the order the stream
/// batches them (by id), so the first `STREAM_BATCH` are the first batch.
async fn seeded() -> (World, Vec<String>) {
    let w = World::new().await;
    let mut ids = Vec::with_capacity(CONTACTS);
    for i in 0..CONTACTS {
        let c = w
            .contact("Ada", &format!("Lovelace{i:03}"), &format!("ada{i}@example.com"))
            .await;
        ids.push(c.meta.id);
    }
    ids.sort();
    (w, ids)
}

/// Runs a statement of the test's own on the world's database.
async fn execute(w: &World, statement: String) {
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(w.store.pool())
        .await
        .unwrap();
}

/// The first sync fails with the store's error naming `cause`, after the
/// first batch was applied.
async fn first_sync_fails_after_the_first_batch(w: &World, ids: &[String], cause: &str) {
    let failed = crmsync_sync::run_profile(
        &w.store,
        &w.profile,
        &crmsync_sync::RunOptions {
            now: Some(common::now()),
            ..crmsync_sync::RunOptions::default()
        },
    )
    .await;
    match &failed {
        Err(SyncError::Store(e)) => assert!(e.to_string().contains(cause), "{e}"),
        other => panic!("the run reports the store's error: {other:?}"),
    }
    first_batch_recorded_alone(w, ids).await;
}

/// What the failed run left: the first batch written and recorded whole,
/// nothing of the second.
async fn first_batch_recorded_alone(w: &World, ids: &[String]) {
    let first: BTreeSet<&str> = ids[..STREAM_BATCH].iter().map(String::as_str).collect();
    let uids = w.uids("contacts");
    let sent: BTreeSet<&str> = uids.iter().map(String::as_str).collect();
    assert_eq!(uids.len(), STREAM_BATCH, "the first batch's creates, each once");
    assert_eq!(
        sent.difference(&first).count(),
        0,
        "nothing of the second batch was sent"
    );

    let pairs = w.store.sync_state().pairs("alice", "contacts").await.unwrap();
    let paired: BTreeSet<&str> = pairs.iter().map(|p| p.crm_id.as_str()).collect();
    assert_eq!(
        (first.difference(&paired).count(), paired.difference(&first).count()),
        (0, 0),
        "(unrecorded, stray): every write of the first batch is recorded, its last chunk's too, and nothing else"
    );
    let run = &w.store.sync_state().runs("alice", 1).await.unwrap()[0];
    let steps = w.store.sync_state().journal(&run.id).await.unwrap();
    let open: Vec<_> = steps.iter().filter(|s| s.state != StepState::Done).collect();
    assert!(open.is_empty(), "no step of the failed run left open: {open:?}");
    let journaled: BTreeSet<String> = steps
        .iter()
        .filter_map(|s| serde_json::from_str::<Action>(&s.action).unwrap().subject.crm_id)
        .collect();
    let journaled: BTreeSet<&str> = journaled.iter().map(String::as_str).collect();
    assert_eq!(
        (
            first.difference(&journaled).count(),
            journaled.difference(&first).count()
        ),
        (0, 0),
        "(missing, stray): the first batch's steps, none of the second's"
    );
}

/// A re-run creates the second batch only, and then nothing is left to do.
async fn rerun_converges(w: &World, ids: &[String]) {
    let report = w.sync().await;
    assert!(report.collections.iter().all(|c| c.failed.is_empty()), "{report}");
    assert_eq!(
        applied(&report, "contacts", "groupware create"),
        CONTACTS - STREAM_BATCH,
        "the second batch, nothing of the first again: {report}"
    );
    let uids = w.uids("contacts");
    let unique: BTreeSet<&String> = uids.iter().collect();
    assert_eq!((uids.len(), unique.len()), (CONTACTS, CONTACTS), "every contact once");
    assert!(ids.iter().all(|id| unique.contains(id)), "every contact in the folder");
    let unfinished = w.store.sync_state().journal_unfinished("alice").await.unwrap();
    assert!(unfinished.is_empty(), "no step left open: {unfinished:?}");
    assert_eq!(writes(&w.sync().await), 0, "converged");
}

#[tokio::test]
async fn r_sync_stream_3_a_failed_load_beside_the_batch_before_records_it_and_a_rerun_converges() {
    let (w, ids) = seeded().await;
    // The second batch's load reads its contacts' journals (R-FIELD-5);
    // one entry of its last contact has a time that is no number.
    let last = ids.last().unwrap();
    execute(
        &w,
        format!(
            "INSERT INTO journal_entries (id, entity, record_id, text, system, author_id, created_at) \
             VALUES ('broken', 'contact', '{last}', 'a note', 0, NULL, 'not a time')"
        ),
    )
    .await;

    first_sync_fails_after_the_first_batch(&w, &ids, "reading a row").await;

    execute(
        &w,
        "UPDATE journal_entries SET created_at = 0 WHERE id = 'broken'".into(),
    )
    .await;
    rerun_converges(&w, &ids).await;
}

#[tokio::test]
async fn r_sync_stream_3_a_failed_journal_beside_the_batch_before_records_it_and_a_rerun_converges() {
    let (w, ids) = seeded().await;
    // The journal refuses the rows of the second batch's last contact, and
    // with them the whole insert of that batch's plan.
    let last = ids.last().unwrap();
    execute(
        &w,
        format!(
            "CREATE TRIGGER second_batch_refused BEFORE INSERT ON sync_journal \
             WHEN instr(NEW.action, '{last}') > 0 \
             BEGIN SELECT RAISE(ABORT, 'injected: the journal is full'); END"
        ),
    )
    .await;

    first_sync_fails_after_the_first_batch(&w, &ids, "injected: the journal is full").await;

    execute(&w, "DROP TRIGGER second_batch_refused".into()).await;
    rerun_converges(&w, &ids).await;
}
