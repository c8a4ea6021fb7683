//! Status records committed together (R-SYNC-PERF-1) and remembered
//! collections (R-SYNC-PERF-3), on both backends.

use chrono::Utc;
use crmsync_engine::{Origin, PairState};
use crmsync_store::status::{HistoryEntry, PairRow, StatusOp, StepState};

fn pair(id: &str, crm_id: &str, href: &str) -> PairRow {
    PairRow {
        id: id.into(),
        profile: "alice".into(),
        collection: "contacts".into(),
        crm_id: crm_id.into(),
        href: href.into(),
        etag: "e1".into(),
        uid: None,
        crm_version: 1,
        origin: Origin::Crm,
        state: PairState::Live,
        base: [("first_name", "Ada")].into_iter().collect(),
        facts: None,
        raw: None,
        updated_at: crate::fixtures::at(9, 0),
    }
}

fn history(run_id: &str, message: &str) -> HistoryEntry {
    HistoryEntry {
        profile: "alice".into(),
        collection: "contacts".into(),
        crm_id: Some("c1".into()),
        href: None,
        run_id: Some(run_id.into()),
        at: Utc::now(),
        action: "groupware create".into(),
        rule: "R-EDIT-1".into(),
        message: message.into(),
        detail: None,
    }
}

fn done(run_id: &str, step: i64) -> StatusOp {
    StatusOp::Mark {
        run_id: run_id.into(),
        step,
        state: StepState::Done,
        detail: None,
    }
}

store_test!(r_sync_perf_1_a_batch_lands_in_order, |store| {
    let run = store.sync_state().begin_run("alice").await.unwrap();
    store
        .sync_state()
        .journal_plan(&run.id, "alice", "contacts", &["{}".into(), "{}".into()])
        .await
        .unwrap();
    store
        .sync_state()
        .apply_status(&[
            done(&run.id, 1),
            StatusOp::History(history(&run.id, "created")),
            StatusOp::SavePair(pair("p1", "c1", "c1.vcf")),
            StatusOp::SavePair(pair("p2", "c2", "c2.vcf")),
            // Later ops see earlier ones: the forget removes the pair just saved.
            StatusOp::DeletePair("p2".into()),
        ])
        .await
        .unwrap();
    let steps = store.sync_state().journal(&run.id).await.unwrap();
    assert_eq!(steps[0].state, StepState::Done);
    assert_eq!(
        steps[1].state,
        StepState::Planned,
        "a step the batch does not name is untouched"
    );
    assert_eq!(store.sync_state().run_history(&run.id).await.unwrap().len(), 1);
    let pairs = store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert_eq!(pairs.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["p1"]);
});

store_test!(r_sync_perf_1_a_batch_that_fails_leaves_nothing, |store| {
    let run = store.sync_state().begin_run("alice").await.unwrap();
    store
        .sync_state()
        .journal_plan(&run.id, "alice", "contacts", &["{}".into()])
        .await
        .unwrap();
    store.sync_state().save_pair(&pair("p1", "c1", "c1.vcf")).await.unwrap();
    // The second pair names the same item as p1: the unique key refuses it,
    // and with it the mark and history written before it in the batch.
    let result = store
        .sync_state()
        .apply_status(&[
            done(&run.id, 1),
            StatusOp::History(history(&run.id, "created")),
            StatusOp::SavePair(pair("p2", "c2", "c1.vcf")),
        ])
        .await;
    assert!(result.is_err());
    assert_eq!(
        store.sync_state().journal(&run.id).await.unwrap()[0].state,
        StepState::Planned
    );
    assert!(store.sync_state().run_history(&run.id).await.unwrap().is_empty());
    assert_eq!(store.sync_state().pairs("alice", "contacts").await.unwrap().len(), 1);
});

store_test!(r_sync_perf_3_remembered_collections_go_with_a_reset, |store| {
    assert_eq!(
        store
            .sync_state()
            .remembered_collection("alice", "contacts")
            .await
            .unwrap(),
        None
    );
    store
        .sync_state()
        .remember_collection("alice", "contacts", "{\"id\":\"/a/\"}")
        .await
        .unwrap();
    store
        .sync_state()
        .remember_collection("alice", "contacts", "{\"id\":\"/b/\"}")
        .await
        .unwrap();
    store
        .sync_state()
        .remember_collection("alice", "calendar", "{\"id\":\"/cal/\"}")
        .await
        .unwrap();
    assert_eq!(
        store
            .sync_state()
            .remembered_collection("alice", "contacts")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"id\":\"/b/\"}"),
        "the latest wins"
    );
    // R-RESET-1: a reset of one collection makes its next run discover again.
    store
        .sync_state()
        .reset_pairs("alice", Some("contacts"), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .sync_state()
            .remembered_collection("alice", "contacts")
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .sync_state()
            .remembered_collection("alice", "calendar")
            .await
            .unwrap()
            .is_some()
    );
    store.sync_state().forget_collection("alice", "calendar").await.unwrap();
    assert_eq!(
        store
            .sync_state()
            .remembered_collection("alice", "calendar")
            .await
            .unwrap(),
        None
    );
});
