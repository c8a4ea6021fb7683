//! The store's handles (records, sync state, catalog) on one pool: a fenced
//! run's writes through every handle that can carry the fence (R-SCHED-4),
//! and the typed status columns (R-STORE-10).

use chrono::{Duration, Utc};
use crmsync_engine::{Origin, PairState};
use crmsync_model::{ContactFields, EntityKind, NewJournalEntry, RecordRef, Role};
use crmsync_store::status::{
    ConflictResolution, ConflictRow, Cursor, HistoryEntry, MailFolderRow, PairRow, RunState, StatusOp, StepState,
    TrackedMailRow,
};
use crmsync_store::{LeaseTake, ProfileDefinitionRow, Store, StoreError};

use crate::fixtures::{contact, user};

fn profile_def(name: &str, user_id: &str) -> ProfileDefinitionRow {
    ProfileDefinitionRow {
        name: name.into(),
        user_id: user_id.into(),
        source: "api".into(),
        connector_kind: "vdir".into(),
        connector_settings: "{}".into(),
        connector_secret: None,
        rules: "{}".into(),
        pull_interval_secs: 300,
        push: false,
        enabled: true,
    }
}

/// Worker `w1` leases `name`; its lease runs out and `w2` takes the profile.
/// Returns (w1's token, w2's token).
async fn lease_moved_on(store: &Store, name: &str) -> (i64, i64) {
    let catalog = store.catalog();
    let now = Utc::now();
    let take = |worker: &'static str, at: chrono::DateTime<Utc>| {
        let catalog = catalog.clone();
        async move {
            match catalog
                .take_lease(name, worker, at, at + Duration::seconds(60))
                .await
                .unwrap()
            {
                LeaseTake::Taken { token } => token,
                other => panic!("{worker} could not take the lease: {other:?}"),
            }
        }
    };
    let first = take("w1", now).await;
    let second = take("w2", now + Duration::seconds(61)).await;
    assert!(second > first, "another worker's claim moves the token on");
    (first, second)
}

fn pair(id: &str, crm_id: &str) -> PairRow {
    PairRow {
        id: id.into(),
        profile: "p".into(),
        collection: "contacts".into(),
        crm_id: crm_id.into(),
        href: format!("{crm_id}.vcf"),
        etag: "e1".into(),
        uid: Some(crm_id.into()),
        crm_version: 1,
        origin: Origin::Crm,
        state: PairState::Live,
        base: Default::default(),
        facts: None,
        raw: None,
        updated_at: Utc::now(),
    }
}

fn history(run_id: &str) -> HistoryEntry {
    HistoryEntry {
        profile: "p".into(),
        collection: "contacts".into(),
        crm_id: None,
        href: None,
        run_id: Some(run_id.into()),
        at: Utc::now(),
        action: "warning".into(),
        rule: "R-SCHED-4".into(),
        message: "stale".into(),
        detail: None,
    }
}

fn conflict(id: &str, pair_id: &str) -> ConflictRow {
    ConflictRow {
        id: id.into(),
        profile: "p".into(),
        collection: "contacts".into(),
        pair_id: pair_id.into(),
        crm_id: "c1".into(),
        href: "c1.vcf".into(),
        fields: "[]".into(),
        created_at: Utc::now(),
        resolved_at: None,
        resolution: None,
    }
}

macro_rules! refused {
    ($what:literal, $call:expr) => {
        match $call.await {
            Err(StoreError::Fenced { profile }) => assert_eq!(profile, "p", $what),
            other => panic!("{} must be refused on a stale lease, got {other:?}", $what),
        }
    };
}

// R-SCHED-4, R-STORE-11: once another worker took the profile, nothing the old holder
// writes through its records or sync-state handle lands; the new holder's
// writes do.
store_test!(r_sched_4_a_stale_run_writes_nothing_through_any_handle, |store| {
    let anna = user(&store, "Anna", Role::User).await;
    let records = store.records();
    let c1 = records.create(&anna.meta.id, contact("Lovelace", false)).await.unwrap();
    store
        .catalog()
        .upsert_profile(&profile_def("p", &anna.meta.id), Utc::now())
        .await
        .unwrap();
    let state = store.sync_state();
    let run = state.begin_run("p").await.unwrap();
    let step = state
        .journal_plan(&run.id, "p", "contacts", &["{}".to_string()])
        .await
        .unwrap();
    state.save_pair(&pair("pair-1", &c1.meta.id)).await.unwrap();
    state.add_conflict(&conflict("k1", "pair-1")).await.unwrap();
    let (stale_token, current_token) = lease_moved_on(&store, "p").await;

    let stale = store.fenced("p", stale_token);
    let records = stale.records();
    refused!("create", records.create(&anna.meta.id, contact("Babbage", false)));
    refused!(
        "create_with_id",
        records.create_with_id("fixed-id", &anna.meta.id, contact("Babbage", false))
    );
    refused!(
        "update",
        records.update(&c1.meta.id, c1.meta.version, contact("Byron", false))
    );
    refused!("delete", records.delete::<ContactFields>(&c1.meta.id, None));
    refused!("set_sync_flag", records.set_sync_flag(&anna.meta.id, &c1.meta.id, true));
    refused!(
        "add_journal_entry",
        records.add_journal_entry(
            &RecordRef {
                entity: EntityKind::Contact,
                id: c1.meta.id.clone(),
            },
            Some(&anna.meta.id),
            NewJournalEntry {
                text: "stale".into(),
                system: false,
            },
        )
    );
    refused!("purge_tombstones", records.purge_tombstones(i64::MAX));

    let state = stale.sync_state();
    refused!("save_pair", state.save_pair(&pair("pair-2", &c1.meta.id)));
    refused!("delete_pair", state.delete_pair("pair-1"));
    refused!("reset_pairs", state.reset_pairs("p", None, None));
    refused!("save_cursor", state.save_cursor("p", "contacts", &Cursor::default()));
    refused!("forget_cursor", state.forget_cursor("p", "contacts"));
    refused!("remember_collection", state.remember_collection("p", "contacts", "/c/"));
    refused!("forget_collection", state.forget_collection("p", "contacts"));
    refused!("begin_run", state.begin_run("p"));
    refused!("finish_run", state.finish_run(&run.id, RunState::Ok, None, None));
    refused!("close_dead_runs", state.close_dead_runs("p", "other", "stale"));
    refused!(
        "journal_plan",
        state.journal_plan(&run.id, "p", "contacts", &["{}".to_string()])
    );
    refused!("journal_mark", state.journal_mark(&run.id, step, StepState::Done, None));
    refused!("add_history", state.add_history(&history(&run.id)));
    refused!("add_conflict", state.add_conflict(&conflict("k2", "pair-1")));
    refused!(
        "resolve_conflict",
        state.resolve_conflict("k1", ConflictResolution::Crm)
    );
    refused!("quarantine", state.quarantine("p", "contacts", "x.vcf", "e", "bad"));
    refused!("release_quarantine", state.release_quarantine("p", "contacts", "x.vcf"));
    refused!("save_duplicates", state.save_duplicates("p", "contacts", "[]"));
    refused!(
        "save_mail_folder",
        state.save_mail_folder(
            "p",
            "INBOX",
            &MailFolderRow {
                uid_validity: 1,
                highest_modseq: None,
                uid_next: 2,
                cursor: None,
            }
        )
    );
    refused!(
        "save_tracked_mail",
        state.save_tracked_mail(
            "p",
            &TrackedMailRow {
                message_key: "m1".into(),
                activity_id: "a1".into(),
                folder: "INBOX".into(),
                uid_validity: 1,
                uid: 1,
                trigger: "folder".into(),
                tracked: true,
                marked: false,
            }
        )
    );
    refused!("forget_mail_folders", state.forget_mail_folders("p"));
    refused!(
        "apply_status",
        state.apply_status(&[StatusOp::History(history(&run.id))])
    );

    // Nothing of it landed.
    let fresh = store.records();
    assert_eq!(fresh.get::<ContactFields>(&c1.meta.id).await.unwrap(), c1);
    let state = store.sync_state();
    assert_eq!(state.pairs("p", "contacts").await.unwrap().len(), 1);
    assert_eq!(state.runs("p", 10).await.unwrap().len(), 1);
    assert_eq!(state.journal(&run.id).await.unwrap()[0].state, StepState::Planned);
    assert!(state.run_history(&run.id).await.unwrap().is_empty());
    assert!(state.conflict("k1").await.unwrap().unwrap().resolution.is_none());

    // The current holder writes through both handles.
    let current = store.fenced("p", current_token);
    current
        .records()
        .update(&c1.meta.id, c1.meta.version, contact("Byron", false))
        .await
        .expect("the current holder writes records");
    current
        .sync_state()
        .journal_mark(&run.id, step, StepState::Done, None)
        .await
        .expect("the current holder writes sync state");
    // The catalog is never fenced: lease writes carry their own owner check.
    assert!(stale.catalog().return_lease("p", "w2").await.unwrap());
});

/// Writes `text` into `column` of every row of `table`, as a version of
/// crmsync this one does not know might have.
async fn overwrite(store: &Store, table: &str, column: &str, text: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET {column} = $1")))
        .bind(text)
        .execute(store.pool())
        .await
        .unwrap();
}

fn assert_unknown(result: Result<impl std::fmt::Debug, StoreError>, what: &str, text: &str) {
    match result {
        Err(e @ StoreError::CorruptStatus { .. }) => {
            let message = e.to_string();
            assert!(message.contains(what) && message.contains(text), "{message}");
        }
        other => panic!("`{text}` must be refused as {what}, got {other:?}"),
    }
}

// R-STORE-10: each typed status column reads back as its enum; text no
// version wrote is an error naming the column and the text, never a guess.
store_test!(r_store_10_unknown_pair_origin_is_an_error, |store| {
    store.sync_state().save_pair(&pair("pair-1", "c1")).await.unwrap();
    overwrite(&store, "sync_pairs", "origin", "carrier_pigeon").await;
    assert_unknown(
        store.sync_state().pairs("p", "contacts").await,
        "a pair's origin",
        "carrier_pigeon",
    );
});

store_test!(r_store_10_unknown_pair_state_is_an_error, |store| {
    let mut p = pair("pair-1", "c1");
    p.state = PairState::RemovedByUser;
    store.sync_state().save_pair(&p).await.unwrap();
    assert_eq!(
        store.sync_state().pairs("p", "contacts").await.unwrap()[0].state,
        PairState::RemovedByUser
    );
    overwrite(&store, "sync_pairs", "state", "half_deleted").await;
    assert_unknown(
        store.sync_state().pairs_of_record("p", "c1").await,
        "a pair's state",
        "half_deleted",
    );
});

store_test!(r_store_10_unknown_run_outcome_is_an_error, |store| {
    let state = store.sync_state();
    let run = state.begin_run("p").await.unwrap();
    state.finish_run(&run.id, RunState::Guarded, None, None).await.unwrap();
    assert_eq!(state.runs("p", 1).await.unwrap()[0].outcome, RunState::Guarded);
    overwrite(&store, "sync_runs", "outcome", "finished").await;
    assert_unknown(state.runs("p", 1).await, "a sync run's outcome", "finished");
});

store_test!(r_store_10_unknown_journal_step_state_is_an_error, |store| {
    let state = store.sync_state();
    let run = state.begin_run("p").await.unwrap();
    let step = state
        .journal_plan(&run.id, "p", "contacts", &["{}".to_string()])
        .await
        .unwrap();
    state
        .journal_mark(&run.id, step, StepState::Replanned, None)
        .await
        .unwrap();
    assert_eq!(state.journal(&run.id).await.unwrap()[0].state, StepState::Replanned);
    // Before, an unknown state read back as `planned` and was redone.
    overwrite(&store, "sync_journal", "state", "half_done").await;
    assert_unknown(state.journal(&run.id).await, "a plan journal step's state", "half_done");
});

store_test!(r_store_10_unknown_conflict_resolution_is_an_error, |store| {
    let state = store.sync_state();
    state.save_pair(&pair("pair-1", "c1")).await.unwrap();
    state.add_conflict(&conflict("k1", "pair-1")).await.unwrap();
    state.resolve_conflict("k1", ConflictResolution::Merged).await.unwrap();
    assert_eq!(
        state.conflict("k1").await.unwrap().unwrap().resolution,
        Some(ConflictResolution::Merged)
    );
    // Before, any text was kept and shown as it was.
    overwrite(&store, "sync_conflicts", "resolution", "coin_toss").await;
    assert_unknown(state.conflict("k1").await, "a conflict's resolution", "coin_toss");
});
