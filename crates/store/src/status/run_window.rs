//! Every profile's runs in a time window (R-WEB-13): what the admin's
//! metrics page charts, read by start time (index `sync_runs (started_at)`,
//! migration 0019).

use chrono::{DateTime, Utc};

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_i64, to_ms};

/// When one run of which profile started and ended, and how: what the
/// metrics chart and the profiles-per-box bench times (R-SCALE-1).
#[derive(Debug, Clone, PartialEq)]
pub struct RunTiming {
    pub profile: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: super::RunState,
    /// From the push notice that woke the run to its end, on the scheduler's
    /// clock; `None` for a run no push woke (R-WEB-20).
    pub push_latency: Option<chrono::Duration>,
}

impl SyncState {
    /// Every profile's runs that started at or after `since`, oldest first
    /// (index `sync_runs (started_at)`, migration 0019).
    pub async fn runs_since(&self, since: DateTime<Utc>) -> Result<Vec<RunTiming>> {
        let rows = sqlx::query(
            "SELECT profile, started_at, finished_at, outcome, push_latency_ms FROM sync_runs WHERE started_at >= $1 ORDER BY started_at",
        )
        .bind(to_ms(since))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading the runs of a time window"))?;
        rows.iter()
            .map(|r| {
                use sqlx::Row;
                let opt = |col: &str| -> Result<Option<i64>> {
                    r.try_get(col)
                        .map_err(StoreError::db("reading the runs of a time window"))
                };
                Ok(RunTiming {
                    profile: r
                        .try_get("profile")
                        .map_err(StoreError::db("reading the runs of a time window"))?,
                    started_at: from_ms(get_i64(r, "started_at")?),
                    finished_at: opt("finished_at")?.map(from_ms),
                    outcome: super::columns::get_enum(r, "outcome")?,
                    push_latency: opt("push_latency_ms")?.map(chrono::Duration::milliseconds),
                })
            })
            .collect()
    }

    /// Records how long after its push notice a run ended (R-WEB-20): the
    /// scheduler writes it once the run is over, on its own clock, so the
    /// figure and the notice share one clock.
    pub async fn record_push_latency(&self, run_id: &str, latency: chrono::Duration) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("UPDATE sync_runs SET push_latency_ms = $2 WHERE id = $1")
                    .bind(run_id)
                    .bind(latency.num_milliseconds().max(0)),
                "recording a run's push latency",
            )
            .await?;
        Ok(())
    }
}
