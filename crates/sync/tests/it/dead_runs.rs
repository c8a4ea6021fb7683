//! Run rows of runs that died are closed by the next run (R-SAFE-2,
//! R-SYNC-RUNS-1 in docs/RULES.md).

use crate::memory_world;
use crmsync_engine::ConflictPolicy;
use memory_world::{MemWorld, PROFILE};

// R-SAFE-2, R-SYNC-RUNS-1
#[tokio::test]
async fn r_sync_runs_1_a_killed_run_without_journal_steps_is_closed_as_interrupted() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    // A run whose process was killed before it planned anything: its row
    // says `running` and it left no journal step to recover.
    let dead = w.store.sync_state().begin_run(PROFILE).await.unwrap();
    // Another profile's run is none of this profile's business.
    let other = w.store.sync_state().begin_run("someone-else").await.unwrap();

    let report = w.sync().await;
    let current = report.run_id.clone().expect("a real run has an id");

    let runs = w.store.sync_state().runs(PROFILE, 10).await.unwrap();
    let dead_row = runs.iter().find(|r| r.id == dead.id).expect("the dead run is listed");
    assert_eq!(dead_row.outcome, crmsync_store::status::RunState::Interrupted);
    assert!(dead_row.finished_at.is_some(), "a closed run has an end");
    assert!(
        dead_row.error.as_deref().is_some_and(|e| e.contains(&current)),
        "the note names the run that closed it: {:?}",
        dead_row.error
    );
    let this = runs.iter().find(|r| r.id == current).unwrap();
    assert_ne!(
        this.outcome,
        crmsync_store::status::RunState::Interrupted,
        "the run that recovers is not closed"
    );
    let other_row = w.store.sync_state().runs("someone-else", 10).await.unwrap();
    assert_eq!(other_row[0].id, other.id);
    assert_eq!(other_row[0].outcome, crmsync_store::status::RunState::Running);
}
