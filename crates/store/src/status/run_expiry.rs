//! Run-report expiry (R-WEB-11): finished runs older than the retention
//! are deleted with their finished journal steps, in bounded batches. A
//! profile's newest finished run always stays (the home page's last run
//! and its state, R-WEB-3); a run still running never goes, nor a journal
//! step a crashed run left unfinished (the next run resolves it, R-SAFE-2).
//! The history rows runs wrote stay: they are the records' history
//! (R-EXPLAIN-1), which outlives the run reports.

use chrono::{DateTime, Utc};

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{get_text, to_ms};

/// Runs deleted per transaction: keeps each write short on a busy database.
const BATCH: i64 = 500;

impl SyncState {
    /// Deletes the reports of runs that finished before `finished_before`,
    /// except each profile's newest finished run (newest: the
    /// latest start, then the greatest id, as [`SyncState::runs`] orders them); returns how many went.
    /// Each batch is one transaction, so an interrupted expiry leaves whole
    /// runs and the next one carries on.
    pub async fn expire_runs(&self, finished_before: DateTime<Utc>) -> Result<u64> {
        let cutoff = to_ms(finished_before);
        let mut expired = 0;
        loop {
            let mut tx = self.db.begin_write().await?;
            let ids: Vec<String> = sqlx::query(
                "SELECT id FROM sync_runs r WHERE r.finished_at IS NOT NULL AND r.finished_at < $1 \
                 AND EXISTS (SELECT 1 FROM sync_runs n WHERE n.profile = r.profile \
                 AND n.finished_at IS NOT NULL \
                 AND (n.started_at > r.started_at OR (n.started_at = r.started_at AND n.id > r.id))) LIMIT $2",
            )
            .bind(cutoff)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("finding expired sync runs"))?
            .iter()
            .map(|r| get_text(r, "id"))
            .collect::<Result<_>>()?;
            if ids.is_empty() {
                return Ok(expired);
            }
            for id in &ids {
                sqlx::query("DELETE FROM sync_journal WHERE run_id = $1 AND state NOT IN ('planned', 'started')")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("deleting an expired run's journal"))?;
                sqlx::query("DELETE FROM sync_runs WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("deleting an expired sync run"))?;
            }
            tx.commit()
                .await
                .map_err(StoreError::db("deleting expired sync runs"))?;
            expired += ids.len() as u64;
        }
    }
}
