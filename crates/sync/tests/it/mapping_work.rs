//! R-PERF-1..3: the mapping work of a run, counted exactly by the runner
//! (`CollectionReport::mapping`): a no-change run maps, parses and renders
//! nothing; a 1 % run only what changed; a first sync maps and renders each
//! record once and parses nothing. Counts, not timings. On SQLite and
//! PostgreSQL, against a real vdir.

use crmsync_model::Contact;
use crmsync_sync::{MappingWork, RunReport, STREAM_BATCH};
use crmsync_testkit::{Backend, TestDatabase};

use crate::common::{World, applied, writes};

/// A fresh database of `backend` with a [`World`] holding `n` contacts.
async fn world(backend: Backend, n: usize) -> (TestDatabase, World, Vec<Contact>) {
    let db = TestDatabase::create(backend, "crmsync_mapping_work").await;
    let w = World::on(tempfile::tempdir().unwrap(), db.url()).await;
    let mut contacts = Vec::with_capacity(n);
    for i in 0..n {
        let c = w
            .contact(&format!("First{i}"), &format!("Last{i}"), &format!("c{i}@example.com"))
            .await;
        contacts.push(c);
    }
    (db, w, contacts)
}

fn work(report: &RunReport) -> MappingWork {
    report
        .collections
        .iter()
        .find(|c| c.collection == "contacts")
        .map(|c| c.mapping)
        .unwrap_or_default()
}

async fn first_sync_renders_each_record_once(backend: Backend) {
    // More than one streamed batch, so the confirming pass and the batches
    // are both in the count.
    let n = STREAM_BATCH + STREAM_BATCH / 5;
    let (_db, w, _) = world(backend, n).await;
    let first = w.sync().await;
    assert_eq!(applied(&first, "contacts", "groupware create"), n, "{first}");
    assert_eq!(
        work(&first),
        MappingWork {
            mapped: n,
            parsed: 0,
            rendered: n
        },
        "{first}"
    );
}

#[tokio::test]
async fn r_perf_1_a_first_sync_maps_and_renders_each_record_once_sqlite() {
    first_sync_renders_each_record_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn r_perf_1_a_first_sync_maps_and_renders_each_record_once_postgres() {
    first_sync_renders_each_record_once(Backend::Postgres).await;
}

async fn no_change_run_does_no_mapping(backend: Backend) {
    let (_db, w, _) = world(backend, 60).await;
    w.sync().await;
    let again = w.sync().await;
    assert_eq!(writes(&again), 0, "{again}");
    assert_eq!(work(&again), MappingWork::default(), "{again}");
}

#[tokio::test]
async fn r_perf_2_a_no_change_run_maps_parses_and_renders_nothing_sqlite() {
    no_change_run_does_no_mapping(Backend::Sqlite).await;
}

#[tokio::test]
async fn r_perf_2_a_no_change_run_maps_parses_and_renders_nothing_postgres() {
    no_change_run_does_no_mapping(Backend::Postgres).await;
}

async fn small_change_maps_only_what_changed(backend: Backend) {
    let (_db, w, contacts) = world(backend, 100).await;
    w.sync().await;
    // 1 %: one record edited in the CRM, another's file in the groupware.
    let ada = &contacts[0];
    let mut fields = ada.fields.clone();
    fields.job_title = Some("Analyst".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();
    let (file, text) = w
        .files("contacts")
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .find(|(_, text)| text.contains("c1@example.com"))
        .unwrap();
    std::fs::write(&file, text.replace("c1@example.com", "c1@example.org")).unwrap();

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    // Mapped: the edited record, and once more the record the run itself
    // updated from the edited file, read back by the run's confirming pass
    // (what the CRM made of the write: an account link, a cut value).
    // Parsed: the edited file alone. Rendered: the one card written.
    assert_eq!(
        work(&report),
        MappingWork {
            mapped: 2,
            parsed: 1,
            rendered: 1
        },
        "only what changed is mapped, parsed and rendered: {report}"
    );
    let quiet = w.sync().await;
    assert_eq!(writes(&quiet), 0, "the edits must not bounce back: {quiet}");
    assert_eq!(work(&quiet), MappingWork::default(), "{quiet}");
}

#[tokio::test]
async fn r_perf_3_a_small_change_maps_parses_and_renders_only_what_changed_sqlite() {
    small_change_maps_only_what_changed(Backend::Sqlite).await;
}

#[tokio::test]
async fn r_perf_3_a_small_change_maps_parses_and_renders_only_what_changed_postgres() {
    small_change_maps_only_what_changed(Backend::Postgres).await;
}
