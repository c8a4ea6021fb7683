use std::collections::BTreeMap;

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{get_i64, get_opt_text, get_text, now_ms};

/// Where a profile's collection stands: the CRM change-log sequence it has
/// seen and the groupware's sync token (R-SCHED-1: fetch only what changed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    pub crm_seq: i64,
    pub token: Option<String>,
}

impl SyncState {
    pub async fn cursor(&self, profile: &str, collection: &str) -> Result<Option<Cursor>> {
        let row = sqlx::query("SELECT crm_seq, token FROM sync_cursors WHERE profile = $1 AND collection = $2")
            .bind(profile)
            .bind(collection)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::db("reading a sync cursor"))?;
        row.map(|r| {
            Ok(Cursor {
                crm_seq: get_i64(&r, "crm_seq")?,
                token: get_opt_text(&r, "token")?,
            })
        })
        .transpose()
    }

    /// Every cursor of a profile, by collection: one read for the whole run
    /// (R-SYNC-PERF-7) where [`SyncState::cursor`] reads one.
    pub async fn cursors(&self, profile: &str) -> Result<BTreeMap<String, Cursor>> {
        let rows = sqlx::query("SELECT collection, crm_seq, token FROM sync_cursors WHERE profile = $1")
            .bind(profile)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading sync cursors"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    get_text(r, "collection")?,
                    Cursor {
                        crm_seq: get_i64(r, "crm_seq")?,
                        token: get_opt_text(r, "token")?,
                    },
                ))
            })
            .collect()
    }

    /// Saved only after every action of the run that depends on it is done.
    pub async fn save_cursor(&self, profile: &str, collection: &str, cursor: &Cursor) -> Result<()> {
        self.db.execute_write(
sqlx::query(
            "INSERT INTO sync_cursors (profile, collection, crm_seq, token, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (profile, collection) DO UPDATE SET crm_seq = excluded.crm_seq, token = excluded.token, \
             updated_at = excluded.updated_at",
        )
        .bind(profile)
        .bind(collection)
        .bind(cursor.crm_seq)
        .bind(cursor.token.clone())
        .bind(now_ms()),
        "saving a sync cursor",
    )
    .await?;
        Ok(())
    }

    /// Forgets one collection's cursors, so its next pass reads both sides in
    /// full (used when a pair must be looked at again, e.g. a resolved conflict).
    pub async fn forget_cursor(&self, profile: &str, collection: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("DELETE FROM sync_cursors WHERE profile = $1 AND collection = $2")
                    .bind(profile)
                    .bind(collection),
                "forgetting a sync cursor",
            )
            .await?;
        Ok(())
    }

    /// The lowest CRM sequence every profile has passed: tombstones up to it
    /// can go (`purge_tombstones`). `None` when no profile has synced yet.
    pub async fn min_cursor_seq(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(crm_seq) AS m FROM sync_cursors")
            .fetch_one(self.db.pool())
            .await
            .map_err(StoreError::db("reading sync cursors"))?;
        use sqlx::Row;
        row.try_get::<Option<i64>, _>("m")
            .map_err(StoreError::db("reading sync cursors"))
    }
}
