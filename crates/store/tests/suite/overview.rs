//! Every profile's figures in one statement (R-WEB-3-ONE-QUERY), on both
//! backends: the newest run, the newest finished run, and the counts of open
//! conflicts, quarantined items, duplicate groups and removed-by-user pairs.

use chrono::Utc;
use crmsync_engine::{Origin, PairState};
use crmsync_store::Store;
use crmsync_store::status::{ConflictRow, PairRow, RunState};

fn pair(profile: &str, crm_id: &str, state: PairState) -> PairRow {
    PairRow {
        id: format!("{profile}-{crm_id}"),
        profile: profile.into(),
        collection: "contacts".into(),
        crm_id: crm_id.into(),
        href: format!("{crm_id}.vcf"),
        etag: "e1".into(),
        uid: None,
        crm_version: 1,
        origin: Origin::Crm,
        state,
        base: [("first_name", "Ada")].into_iter().collect(),
        facts: None,
        raw: None,
        updated_at: Utc::now(),
    }
}

fn conflict(id: &str, profile: &str) -> ConflictRow {
    ConflictRow {
        id: id.into(),
        profile: profile.into(),
        collection: "contacts".into(),
        pair_id: format!("pair-{id}"),
        crm_id: format!("crm-{id}"),
        href: format!("{id}.vcf"),
        fields: "[]".into(),
        created_at: Utc::now(),
        resolved_at: None,
        resolution: None,
    }
}

/// Starts a run whose start time is later than `after`'s: the store stamps
/// runs with the current millisecond, so this waits for the clock to pass it
/// (a condition, not a fixed sleep).
async fn run_after(
    store: &Store,
    profile: &str,
    after: &crmsync_store::status::RunRow,
) -> crmsync_store::status::RunRow {
    while Utc::now().timestamp_millis() <= after.started_at.timestamp_millis() {
        tokio::task::yield_now().await;
    }
    store.sync_state().begin_run(profile).await.unwrap()
}

store_test!(r_web_3_one_query_overview_counts_each_profile, |store| {
    let state = store.sync_state();
    // "failing": a failed run, then one still running.
    let failed = state.begin_run("failing").await.unwrap();
    state
        .finish_run(&failed.id, RunState::Failed, None, Some("401 from the server"))
        .await
        .unwrap();
    let running = run_after(&store, "failing", &failed).await;

    // "held": a guarded run, with everything that waits for the user.
    let held = state.begin_run("held").await.unwrap();
    state
        .finish_run(&held.id, RunState::Guarded, Some("{\"contacts\":{}}"), None)
        .await
        .unwrap();
    state.add_conflict(&conflict("k1", "held")).await.unwrap();
    state.add_conflict(&conflict("k2", "held")).await.unwrap();
    state
        .resolve_conflict("k2", crmsync_store::status::ConflictResolution::Crm)
        .await
        .unwrap();
    state.quarantine("held", "contacts", "a.vcf", "e", "bad").await.unwrap();
    state.quarantine("held", "contacts", "b.vcf", "e", "bad").await.unwrap();
    state.save_duplicates("held", "contacts", "[1, 2]").await.unwrap();
    state.save_duplicates("held", "calendar", "[3]").await.unwrap();
    state.save_duplicates("held", "calendar", "[4]").await.unwrap();
    for (id, s) in [
        ("r1", PairState::RemovedByUser),
        ("r2", PairState::RemovedByUser),
        ("l1", PairState::Live),
    ] {
        state.save_pair(&pair("held", id, s)).await.unwrap();
    }
    // Another profile's rows count for it only.
    state.add_conflict(&conflict("k3", "other")).await.unwrap();
    state
        .save_pair(&pair("other", "r3", PairState::RemovedByUser))
        .await
        .unwrap();

    let names: Vec<String> = ["quiet", "held", "failing"].map(String::from).to_vec();
    let rows = state.overview(&names).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.profile.as_str()).collect::<Vec<_>>(),
        ["quiet", "held", "failing"],
        "one row per name asked for, in that order"
    );

    let quiet = &rows[0];
    assert_eq!(quiet.last_run, None);
    assert_eq!(quiet.last_finished, None);
    assert_eq!(
        (
            quiet.open_conflicts,
            quiet.quarantined,
            quiet.duplicate_groups,
            quiet.removed_by_user
        ),
        (0, 0, 0, 0)
    );

    let h = &rows[1];
    assert_eq!(
        h.last_run.as_ref().map(|r| (r.id.as_str(), r.outcome)),
        Some((held.id.as_str(), RunState::Guarded))
    );
    assert_eq!(
        h.last_run.as_ref().and_then(|r| r.summary.as_deref()),
        Some("{\"contacts\":{}}")
    );
    assert_eq!(h.open_conflicts, 1, "the resolved conflict is not open");
    assert_eq!(h.quarantined, 2);
    assert_eq!(
        h.duplicate_groups, 3,
        "the latest report of each collection: 2 + 1 groups"
    );
    assert_eq!(h.removed_by_user, 2, "live pairs are not removed ones");

    let f = &rows[2];
    assert_eq!(
        f.last_run.as_ref().map(|r| (r.id.as_str(), r.outcome)),
        Some((running.id.as_str(), RunState::Running))
    );
    assert_eq!(
        f.last_finished,
        Some((RunState::Failed, Some("401 from the server".to_string()))),
        "a run in progress does not hide the failure before it"
    );

    assert!(state.overview(&[]).await.unwrap().is_empty());
});
