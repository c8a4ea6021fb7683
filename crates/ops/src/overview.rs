//! The home page's view of many profiles at once (R-WEB-3-ONE-QUERY): the
//! figures `status` shows, as counts, read for all profiles in one query
//! instead of six per profile. `status` itself still reads one profile in
//! full (every quarantined and removed item, the failure streak).

use crmsync_store::status::RunState;
use crmsync_store::{StoreError, SyncState};

use crate::directory::ProfileInfo;
use crate::status::{Health, RunView, ScheduleView, counts_line, health_of, held_in, run_view};

/// One profile on the home page.
#[derive(Debug, Clone)]
pub struct ProfileOverview {
    pub profile: String,
    pub user_id: String,
    pub last_run: Option<RunView>,
    /// The last finished run's error, when it failed.
    pub failing: Option<String>,
    pub open_conflicts: u64,
    pub quarantined: u64,
    pub duplicate_groups: u64,
    pub removed_by_user: u64,
    /// The scheduler's view, when the profile is stored in the database
    /// (the caller attaches it: the status store does not know schedules).
    pub schedule: Option<ScheduleView>,
}

impl ProfileOverview {
    pub fn health(&self) -> Health {
        health_of(self.schedule.as_ref(), self.failing.is_some(), self.last_run.as_ref())
    }

    /// The last run's counts in words.
    pub fn last_run_summary(&self) -> Option<String> {
        self.last_run.as_ref().and_then(|r| counts_line(&r.counts))
    }

    /// The collections the mass-delete guard held in the last run (R-SAFE-3).
    pub fn held_collections(&self) -> Vec<String> {
        held_in(self.last_run.as_ref())
    }
}

/// The overview of `profiles`, in their order, from one query.
pub async fn profiles_overview(
    state: &SyncState,
    profiles: &[ProfileInfo],
) -> Result<Vec<ProfileOverview>, StoreError> {
    let names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let rows = state.overview(&names).await?;
    Ok(profiles
        .iter()
        .zip(rows)
        .map(|(info, row)| ProfileOverview {
            profile: row.profile,
            user_id: info.user_id.clone(),
            last_run: row.last_run.map(run_view),
            failing: row
                .last_finished
                .filter(|(outcome, _)| *outcome == RunState::Failed)
                .map(|(_, error)| error.unwrap_or_else(|| "unknown error".into())),
            open_conflicts: row.open_conflicts,
            quarantined: row.quarantined,
            duplicate_groups: row.duplicate_groups,
            removed_by_user: row.removed_by_user,
            schedule: None,
        })
        .collect())
}
