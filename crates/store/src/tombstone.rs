//! Tombstones: what a deleted record was, kept so that every sync profile can
//! still act on the delete (R-DEL-3, R-DEL-7, R-DEL-11) after it happened.

use chrono::{DateTime, Utc};
use crmsync_model::EntityKind;
use crmsync_model::record::Id;
use serde::{Deserialize, Serialize};

use crate::Records;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_i64, get_text};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub entity: EntityKind,
    pub id: Id,
    pub owner_id: Id,
    /// The version the record had when it was deleted.
    pub last_version: i64,
    /// The whole record (metadata and fields) as it was, in its JSON form.
    pub record: serde_json::Value,
    pub deleted_at: DateTime<Utc>,
    /// The change-log number of the delete.
    pub seq: i64,
}

impl Records {
    pub async fn tombstone(&self, entity: EntityKind, id: &str) -> Result<Option<Tombstone>> {
        let row = sqlx::query(
            "SELECT owner_id, version, data, deleted_at, seq FROM tombstones WHERE entity = $1 AND record_id = $2",
        )
        .bind(entity.as_str())
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a tombstone"))?;
        let Some(row) = row else { return Ok(None) };
        let data = get_text(&row, "data")?;
        let record = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
            entity,
            id: id.to_string(),
            reason: format!("tombstone: {e}"),
        })?;
        Ok(Some(Tombstone {
            entity,
            id: id.to_string(),
            owner_id: get_text(&row, "owner_id")?,
            last_version: get_i64(&row, "version")?,
            record,
            deleted_at: from_ms(get_i64(&row, "deleted_at")?),
            seq: get_i64(&row, "seq")?,
        }))
    }

    /// Removes the tombstones of deletes numbered `upto_seq` or lower. The
    /// caller passes the lowest cursor of all sync profiles: a tombstone a
    /// profile has not yet processed must stay. Returns how many went.
    pub async fn purge_tombstones(&self, upto_seq: i64) -> Result<u64> {
        let done = self
            .db
            .execute_write(
                sqlx::query("DELETE FROM tombstones WHERE seq <= $1").bind(upto_seq),
                "purging tombstones",
            )
            .await?;
        Ok(done.rows_affected())
    }
}
