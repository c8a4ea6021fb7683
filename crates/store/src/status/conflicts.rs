use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::columns::TextColumn;
use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_i64, get_opt_text, get_text, now_ms, to_ms};

/// How a held conflict was closed. Stored as its `as_str` text (see
/// `columns.rs`); every reader gets the enum, so no caller compares strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictResolution {
    /// Someone chose the CRM's values (R-EDIT-3).
    Crm,
    /// Someone chose the groupware's values.
    Groupware,
    /// Someone chose per field, each value one side's.
    Merged,
    /// A newer conflict on the same pair replaced it.
    Superseded,
    /// A reset forgot the pair (R-RESET-2).
    Reset,
    /// The pair was gone when someone resolved it: nothing was held any more.
    Obsolete,
}

impl ConflictResolution {
    pub const ALL: [ConflictResolution; 6] = [
        ConflictResolution::Crm,
        ConflictResolution::Groupware,
        ConflictResolution::Merged,
        ConflictResolution::Superseded,
        ConflictResolution::Reset,
        ConflictResolution::Obsolete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConflictResolution::Crm => "crm",
            ConflictResolution::Groupware => "groupware",
            ConflictResolution::Merged => "merged",
            ConflictResolution::Superseded => "superseded",
            ConflictResolution::Reset => "reset",
            ConflictResolution::Obsolete => "obsolete",
        }
    }
}

impl std::fmt::Display for ConflictResolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A conflict held for someone to choose (R-EDIT-3 `manual`): neither side is
/// overwritten until it is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    pub id: String,
    pub profile: String,
    pub collection: String,
    pub pair_id: String,
    pub crm_id: String,
    pub href: String,
    /// JSON list of the conflicting fields with base, CRM and groupware values.
    pub fields: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// How it was closed; `None` while open.
    pub resolution: Option<ConflictResolution>,
}

fn from_row(r: &AnyRow) -> Result<ConflictRow> {
    use sqlx::Row;
    let resolved: Option<i64> = r.try_get("resolved_at").map_err(StoreError::db("reading conflicts"))?;
    Ok(ConflictRow {
        id: get_text(r, "id")?,
        profile: get_text(r, "profile")?,
        collection: get_text(r, "collection")?,
        pair_id: get_text(r, "pair_id")?,
        crm_id: get_text(r, "crm_id")?,
        href: get_text(r, "href")?,
        fields: get_text(r, "fields")?,
        created_at: from_ms(get_i64(r, "created_at")?),
        resolved_at: resolved.map(from_ms),
        resolution: get_opt_text(r, "resolution")?
            .map(|text| ConflictResolution::from_text(&text))
            .transpose()?,
    })
}

const COLUMNS: &str = "id, profile, collection, pair_id, crm_id, href, fields, created_at, resolved_at, resolution";

impl SyncState {
    /// Queues a conflict unless the pair already has an open one with the same
    /// fields (a re-run must not queue it twice). Returns the open conflict.
    pub async fn add_conflict(&self, c: &ConflictRow) -> Result<ConflictRow> {
        let mut tx = self.db.begin_write().await?;
        let open = add_conflict_in(&mut tx, c).await?;
        tx.commit().await.map_err(StoreError::db("queueing a conflict"))?;
        Ok(open)
    }

    pub async fn open_conflict_of_pair(&self, pair_id: &str) -> Result<Option<ConflictRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_conflicts WHERE pair_id = $1 AND resolved_at IS NULL"
        )))
        .bind(pair_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading conflicts"))?;
        row.as_ref().map(from_row).transpose()
    }

    /// Open conflicts, of one profile or of all.
    pub async fn open_conflicts(&self, profile: Option<&str>) -> Result<Vec<ConflictRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_conflicts WHERE resolved_at IS NULL AND ($1 = '' OR profile = $1) \
             ORDER BY created_at, id"
        )))
        .bind(profile.unwrap_or(""))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading conflicts"))?;
        rows.iter().map(from_row).collect()
    }

    pub async fn conflict(&self, id: &str) -> Result<Option<ConflictRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_conflicts WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading conflicts"))?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn resolve_conflict(&self, id: &str, resolution: ConflictResolution) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("UPDATE sync_conflicts SET resolved_at = $2, resolution = $3 WHERE id = $1")
                    .bind(id)
                    .bind(now_ms())
                    .bind(resolution.as_text()),
                "resolving a conflict",
            )
            .await?;
        Ok(())
    }
}

/// Queues `c` inside the caller's transaction (see [`crate::SyncState::add_conflict`]).
pub(super) async fn add_conflict_in(conn: &mut AnyConnection, c: &ConflictRow) -> Result<ConflictRow> {
    let open = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sync_conflicts WHERE pair_id = $1 AND resolved_at IS NULL"
    )))
    .bind(&c.pair_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::db("reading conflicts"))?;
    if let Some(open) = open.as_ref().map(from_row).transpose()? {
        if open.fields == c.fields {
            return Ok(open);
        }
        sqlx::query("UPDATE sync_conflicts SET resolved_at = $2, resolution = $3 WHERE id = $1")
            .bind(&open.id)
            .bind(now_ms())
            .bind(ConflictResolution::Superseded.as_text())
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("resolving a conflict"))?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sync_conflicts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)"
    )))
    .bind(&c.id)
    .bind(&c.profile)
    .bind(&c.collection)
    .bind(&c.pair_id)
    .bind(&c.crm_id)
    .bind(&c.href)
    .bind(&c.fields)
    .bind(to_ms(c.created_at))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("queueing a conflict"))?;
    Ok(c.clone())
}
