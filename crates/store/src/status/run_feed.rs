//! The runs finished since a moment, by end time (R-WEB-21): what the
//! dashboard's run feed reads to hear of runs that other processes sharing
//! the database finished (index `sync_runs (finished_at)`, migration 0021).

use chrono::{DateTime, Utc};

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_i64, get_text, to_ms};

/// A finished run: which, of which profile, ended when (the finishing
/// process's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    pub id: String,
    pub profile: String,
    pub finished_at: DateTime<Utc>,
}

impl SyncState {
    /// Every run that ended at or after `since`, by end time.
    pub async fn runs_finished_since(&self, since: DateTime<Utc>) -> Result<Vec<FinishedRun>> {
        let rows = sqlx::query(
            "SELECT id, profile, finished_at FROM sync_runs WHERE finished_at >= $1 ORDER BY finished_at, id",
        )
        .bind(to_ms(since))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading the runs finished lately"))?;
        rows.iter()
            .map(|r| {
                Ok(FinishedRun {
                    id: get_text(r, "id")?,
                    profile: get_text(r, "profile")?,
                    finished_at: from_ms(get_i64(r, "finished_at")?),
                })
            })
            .collect()
    }
}
