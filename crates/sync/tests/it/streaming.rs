//! R-SYNC-STREAM-1/2: a first sync holds a bounded number of CRM records at a time
//! (the batch written and the next, R-SYNC-STREAM-3),
//! whatever the mailbox holds, and a pass that changes little loads little.
//! The figure is the runner's own count of records loaded and mapped at once
//! (`CollectionReport::largest_batch`), so the check is exact, not a timing.

use crate::common;
use common::{World, applied, writes};
use crmsync_model::{Contact, ContactFields};
use crmsync_sync::{RunReport, STREAM_BATCH};

fn largest_batch(report: &RunReport, collection: &str) -> usize {
    report
        .collections
        .iter()
        .find(|c| c.collection == collection)
        .map_or(0, |c| c.largest_batch)
}

async fn world_with_contacts(n: usize) -> (World, Vec<Contact>) {
    let w = World::new().await;
    let mut contacts = Vec::with_capacity(n);
    for i in 0..n {
        let c = w
            .contact(&format!("First{i}"), &format!("Last{i}"), &format!("c{i}@example.com"))
            .await;
        contacts.push(c);
    }
    (w, contacts)
}

#[tokio::test]
async fn r_sync_stream_1_first_sync_holds_one_batch_whatever_the_size() {
    let small = STREAM_BATCH / 5;
    let large = STREAM_BATCH * 2 + STREAM_BATCH / 2;
    for n in [small, large] {
        let (w, _) = world_with_contacts(n).await;
        let first = w.sync().await;
        assert_eq!(applied(&first, "contacts", "groupware create"), n, "{first}");
        assert_eq!(w.files("contacts").len(), n);
        // Flat in N: never more than two batches loaded at once (the one
        // written and the next, read beside it, R-SYNC-STREAM-3), and the
        // second pass of the run (reading its own writes) loads none again.
        assert_eq!(largest_batch(&first, "contacts"), n.min(2 * STREAM_BATCH), "n = {n}");
        let again = w.sync().await;
        assert_eq!(writes(&again), 0, "{again}");
        assert_eq!(largest_batch(&again, "contacts"), 0, "a no-change run maps no record");
    }
}

#[tokio::test]
async fn r_sync_stream_2_a_small_change_loads_only_what_changed() {
    let (w, contacts) = world_with_contacts(40).await;
    let first = w.sync().await;
    assert_eq!(applied(&first, "contacts", "groupware create"), 40, "{first}");
    let ada = &contacts[0];
    let mut fields: ContactFields = ada.fields.clone();
    fields.job_title = Some("Analyst".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();
    // Another contact's file (not Ada's), edited in the groupware.
    let (file, text) = w
        .files("contacts")
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .find(|(_, text)| !text.contains("c0@example.com"))
        .unwrap();
    std::fs::write(&file, text.replace("@example.com", "@example.org")).unwrap();

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    // The edited record, and the record of the edited file: never all 40.
    assert!(largest_batch(&report, "contacts") <= 2, "{report}");
    assert_eq!(writes(&w.sync().await), 0, "the edits must not bounce back");
}

/// R-SYNC-STREAM-3 with R-SAFE-2: the run dies after a write of the first
/// batch's last chunk, while the second batch may already be journaled
/// (`planned`, never started). The next run converges: every contact once,
/// nothing left unfinished in the journal, and a run after it writes nothing.
#[tokio::test]
async fn r_sync_stream_3_a_crash_while_the_next_batch_waits_journaled_converges() {
    let n = STREAM_BATCH + 100;
    let (w, _) = world_with_contacts(n).await;
    // The 8th chunk of 64 is the first batch's last.
    let faults = crmsync_sync::Faults::crash_at(7 * 64 + 3, crmsync_sync::CrashPoint::AfterWrite);
    let crashed = crmsync_sync::run_profile(
        &w.store,
        &w.profile,
        &crmsync_sync::RunOptions {
            now: Some(common::now()),
            faults: Some(&faults),
            ..crmsync_sync::RunOptions::default()
        },
    )
    .await;
    assert!(
        matches!(crashed, Err(crmsync_sync::SyncError::InjectedCrash { .. })),
        "{crashed:?}"
    );
    assert!(w.files("contacts").len() < n, "the crash came before the second batch");

    let report = w.sync().await;
    assert!(report.collections.iter().all(|c| c.failed.is_empty()), "{report}");
    let uids = w.uids("contacts");
    let unique: std::collections::BTreeSet<&String> = uids.iter().collect();
    assert_eq!((uids.len(), unique.len()), (n, n), "every contact once");
    let unfinished = w.store.sync_state().journal_unfinished("alice").await.unwrap();
    assert!(unfinished.is_empty(), "no step left open: {unfinished:?}");
    assert_eq!(writes(&w.sync().await), 0, "converged");
}
