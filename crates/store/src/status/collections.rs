//! Remembered groupware collections (R-SYNC-PERF-3): discovery costs several
//! requests on a DAV server, and a run that already knows where each of its
//! classes lives needs only one listing per collection. The store keeps the
//! connector's description as JSON; it does not depend on the connector.

use std::collections::BTreeMap;

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{get_text, now_ms};

impl SyncState {
    /// The collection (connector JSON) a profile's class was last synced with.
    pub async fn remembered_collection(&self, profile: &str, collection: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT found FROM sync_collections WHERE profile = $1 AND collection = $2")
            .bind(profile)
            .bind(collection)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::db("reading a remembered collection"))?;
        row.map(|r| get_text(&r, "found")).transpose()
    }

    pub async fn remember_collection(&self, profile: &str, collection: &str, found: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query(
                    "INSERT INTO sync_collections (profile, collection, found, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (profile, collection) DO UPDATE SET found = excluded.found, updated_at = excluded.updated_at",
                )
                .bind(profile)
                .bind(collection)
                .bind(found)
                .bind(now_ms()),
                "remembering a collection",
            )
            .await?;
        Ok(())
    }

    /// Forgets a remembered collection, so the next run discovers it again.
    pub async fn forget_collection(&self, profile: &str, collection: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("DELETE FROM sync_collections WHERE profile = $1 AND collection = $2")
                    .bind(profile)
                    .bind(collection),
                "forgetting a collection",
            )
            .await?;
        Ok(())
    }

    /// The collections a profile's runs remembered (R-SYNC-PERF-3), as the
    /// connector described them (JSON), one per class.
    pub async fn remembered_collections(&self, profile: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT found FROM sync_collections WHERE profile = $1 ORDER BY collection")
            .bind(profile)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading remembered collections"))?;
        rows.iter().map(|r| get_text(r, "found")).collect()
    }

    /// Every collection a profile's runs remembered, by the class's
    /// collection name (`contacts`, …): one read for the whole run
    /// (R-SYNC-PERF-7) where [`SyncState::remembered_collection`] reads one.
    pub async fn remembered_collections_by_name(&self, profile: &str) -> Result<BTreeMap<String, String>> {
        let rows = sqlx::query("SELECT collection, found FROM sync_collections WHERE profile = $1")
            .bind(profile)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading remembered collections"))?;
        rows.iter()
            .map(|r| Ok((get_text(r, "collection")?, get_text(r, "found")?)))
            .collect()
    }
}
