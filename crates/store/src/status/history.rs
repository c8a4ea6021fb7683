use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::sql::{Arg, Sql, from_ms, get_opt_text, get_text, to_ms};
use crate::{Backend, SyncState};

/// One thing sync did (or decided not to do) to a record, with the rule that
/// decided it (R-EXPLAIN-1). `detail` is JSON: the action with both versions
/// and every overwritten value (R-EDIT-3).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub profile: String,
    pub collection: String,
    pub crm_id: Option<String>,
    pub href: Option<String>,
    pub run_id: Option<String>,
    pub at: DateTime<Utc>,
    pub action: String,
    pub rule: String,
    pub message: String,
    pub detail: Option<String>,
}

fn from_row(r: &AnyRow) -> Result<HistoryEntry> {
    use sqlx::Row;
    let at: i64 = r.try_get("at").map_err(StoreError::db("reading history"))?;
    Ok(HistoryEntry {
        profile: get_text(r, "profile")?,
        collection: get_text(r, "collection")?,
        crm_id: get_opt_text(r, "crm_id")?,
        href: get_opt_text(r, "href")?,
        run_id: get_opt_text(r, "run_id")?,
        at: from_ms(at),
        action: get_text(r, "action")?,
        rule: get_text(r, "rule")?,
        message: get_text(r, "message")?,
        detail: get_opt_text(r, "detail")?,
    })
}

impl SyncState {
    pub async fn add_history(&self, e: &HistoryEntry) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        insert_history(&mut tx, e).await?;
        tx.commit().await.map_err(StoreError::db("writing sync history"))
    }

    /// A record's history in one profile, oldest first: by CRM id, by href, or both.
    pub async fn history(&self, profile: &str, crm_id: Option<&str>, href: Option<&str>) -> Result<Vec<HistoryEntry>> {
        let rows = sqlx::query(
            "SELECT profile, collection, crm_id, href, run_id, at, action, rule, message, detail FROM sync_history \
             WHERE profile = $1 AND (($2 <> '' AND crm_id = $2) OR ($3 <> '' AND href = $3)) ORDER BY id",
        )
        .bind(profile)
        // An absent key is the empty string, which matches no id or href
        // (PostgreSQL text cannot hold the NUL a sentinel would need).
        .bind(crm_id.unwrap_or(""))
        .bind(href.unwrap_or(""))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading sync history"))?;
        rows.iter().map(from_row).collect()
    }

    /// Everything a run did, in order.
    pub async fn run_history(&self, run_id: &str) -> Result<Vec<HistoryEntry>> {
        let rows = sqlx::query(
            "SELECT profile, collection, crm_id, href, run_id, at, action, rule, message, detail FROM sync_history \
             WHERE run_id = $1 ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading sync history"))?;
        rows.iter().map(from_row).collect()
    }
}

pub(super) async fn insert_history(conn: &mut AnyConnection, e: &HistoryEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_history (profile, collection, crm_id, href, run_id, at, action, rule, message, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.profile)
    .bind(&e.collection)
    .bind(e.crm_id.clone())
    .bind(e.href.clone())
    .bind(e.run_id.clone())
    .bind(to_ms(e.at))
    .bind(&e.action)
    .bind(&e.rule)
    .bind(&e.message)
    .bind(e.detail.clone())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("writing sync history"))?;
    Ok(())
}

/// History rows written by one statement of [`insert_history_all`] (ten
/// values each, well inside both backends' limit on bound values).
const HISTORY_ROWS_PER_STATEMENT: usize = 200;

/// Inserts `entries` in order, many rows per statement (R-VDIR-12).
pub(super) async fn insert_history_all(conn: &mut AnyConnection, entries: &[&HistoryEntry]) -> Result<()> {
    for chunk in entries.chunks(HISTORY_ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(
            "INSERT INTO sync_history (profile, collection, crm_id, href, run_id, at, action, rule, message, detail) VALUES ",
        );
        for (i, e) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).row([
                Arg::Text(e.profile.clone()),
                Arg::Text(e.collection.clone()),
                Arg::OptText(e.crm_id.clone()),
                Arg::OptText(e.href.clone()),
                Arg::OptText(e.run_id.clone()),
                Arg::Int(to_ms(e.at)),
                Arg::Text(e.action.clone()),
                Arg::Text(e.rule.clone()),
                Arg::Text(e.message.clone()),
                Arg::OptText(e.detail.clone()),
            ]);
        }
        sql.query(Backend::of(conn))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("writing sync history"))?;
    }
    Ok(())
}
