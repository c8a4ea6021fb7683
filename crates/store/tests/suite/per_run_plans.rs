//! Statements every scheduled run sends cost the same however many profiles
//! and run reports are stored (R-SCALE-14, R-SCALE-15): asked of each
//! database's own planner, with statistics, at a size where the difference
//! shows.

use chrono::{DateTime, Utc};
use crmsync_model::Role;
use crmsync_store::{Backend, PerRunStatement, Store};

use crate::fixtures::user;

/// Enough due rows that PostgreSQL's planner, with statistics, preferred a
/// sequential scan and a sort of all of them under the old index (it did
/// from about 1,000 on; 40,000 took 17 ms per claim).
const PROFILES: i64 = 3_000;

/// `PROFILES` enabled profiles of one user, all due at `due`, in one
/// statement; then fresh planner statistics, as autovacuum (PostgreSQL) or
/// a routine `ANALYZE` would leave them.
async fn seed_due_profiles(store: &Store, due: DateTime<Utc>) {
    let owner = user(store, "Scheduler", Role::User).await;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $3) \
         INSERT INTO sync_profiles (name, user_id, source, connector_kind, connector_settings, rules, \
         pull_interval_secs, push, enabled, state, failures, next_run_at, pending_trigger, created_at, updated_at) \
         SELECT 'p-' || i, $1, 'api', 'vdir', '{}', '{}', 300, 0, 1, 'ok', 0, $2, 0, $2, $2 FROM n",
    )
    .bind(owner.meta.id.clone())
    .bind(due.timestamp_millis())
    .bind(PROFILES)
    .execute(store.pool())
    .await
    .expect("seed profiles");
    sqlx::query("ANALYZE sync_profiles")
        .execute(store.pool())
        .await
        .expect("analyze");
}

store_test!(
    r_scale_14_the_claim_reads_the_index_in_claim_order_without_sorting,
    |store| {
        let due = Utc::now() - chrono::Duration::minutes(5);
        seed_due_profiles(&store, due).await;
        let now = Utc::now();
        let plan = store
            .plan_of(&PerRunStatement::Claim { now, limit: 4 })
            .await
            .expect("plan the claim");
        let shown = plan.join("\n");
        assert!(
            shown.contains("sync_profiles_claim"),
            "the claim must read the claim index:\n{shown}"
        );
        let (sort, full_scan) = match store.backend() {
            Backend::Postgres => ("Sort", "Seq Scan on sync_profiles"),
            Backend::Sqlite => ("TEMP B-TREE", "SCAN sync_profiles"),
        };
        assert!(
            !shown.contains(sort),
            "the claim must not sort the due profiles:\n{shown}"
        );
        assert!(
            !shown.contains(full_scan),
            "the claim must not scan every profile:\n{shown}"
        );

        // And it still claims the most overdue first, by name among equals.
        let claimed = store
            .catalog()
            .claim_due_profiles("w1", now, now + chrono::Duration::seconds(60), 4)
            .await
            .expect("claim");
        let names: Vec<&str> = claimed.iter().map(|p| p.definition.name.as_str()).collect();
        assert_eq!(names, ["p-1", "p-10", "p-100", "p-1000"]);
    }
);

/// Run reports one profile keeps at a 15-minute interval over 30 days.
const RUNS: i64 = 2_880;

store_test!(r_scale_15_closing_dead_runs_reads_only_unfinished_ones, |store| {
    // A profile with a month of finished runs, and its current one.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO sync_runs (id, profile, started_at, finished_at, outcome) \
         SELECT 'run-' || i, 'busy', i, i + 1, 'ok' FROM n",
    )
    .bind(RUNS)
    .execute(store.pool())
    .await
    .expect("seed runs");
    let current = store.sync_state().begin_run("busy").await.expect("begin run");
    sqlx::query("ANALYZE sync_runs")
        .execute(store.pool())
        .await
        .expect("analyze");
    let plan = store
        .plan_of(&PerRunStatement::CloseDeadRuns { profile: "busy".into() })
        .await
        .expect("plan closing dead runs");
    let shown = plan.join("\n");
    assert!(
        shown.contains("sync_runs_running"),
        "closing dead runs must read only the unfinished runs' index:\n{shown}"
    );

    // And it still closes a dead run, and only that one.
    let dead = store.sync_state().begin_run("busy").await.expect("begin run");
    let closed = store
        .sync_state()
        .close_dead_runs("busy", &current.id, "worker died")
        .await
        .expect("close dead runs");
    assert_eq!(closed, 1);
    let runs = store.sync_state().runs("busy", 2).await.expect("runs");
    let dead_now = runs.iter().find(|r| r.id == dead.id).expect("the dead run");
    assert_eq!(dead_now.outcome, crmsync_store::status::RunState::Interrupted);
});
