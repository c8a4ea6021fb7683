use chrono::{DateTime, Utc};

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_i64, get_text, now_ms};

/// A groupware item that could not be read (R-SAFE-4). It is never deleted
/// or overwritten; it leaves quarantine when its ETag changes and it parses.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub profile: String,
    pub collection: String,
    pub href: String,
    pub etag: String,
    pub error: String,
    pub at: DateTime<Utc>,
}

/// The ETag of a quarantined item a user asked to retry (R-WEB-14): no
/// server's listing carries an empty ETag, so the item never counts as
/// "unchanged since it was quarantined" and the next run reads it again.
pub const RETRY_ETAG: &str = "";

fn quarantine_row(r: &sqlx::any::AnyRow) -> Result<QuarantineRow> {
    Ok(QuarantineRow {
        profile: get_text(r, "profile")?,
        collection: get_text(r, "collection")?,
        href: get_text(r, "href")?,
        etag: get_text(r, "etag")?,
        error: get_text(r, "error")?,
        at: from_ms(get_i64(r, "at")?),
    })
}

impl SyncState {
    pub async fn quarantine(&self, profile: &str, collection: &str, href: &str, etag: &str, error: &str) -> Result<()> {
        self.db.execute_write(
sqlx::query(
            "INSERT INTO sync_quarantine (profile, collection, href, etag, error, at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (profile, collection, href) DO UPDATE SET etag = excluded.etag, error = excluded.error, \
             at = excluded.at",
        )
        .bind(profile)
        .bind(collection)
        .bind(href)
        .bind(etag)
        .bind(error)
        .bind(now_ms()),
        "quarantining an item",
    )
    .await?;
        Ok(())
    }

    pub async fn release_quarantine(&self, profile: &str, collection: &str, href: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("DELETE FROM sync_quarantine WHERE profile = $1 AND collection = $2 AND href = $3")
                    .bind(profile)
                    .bind(collection)
                    .bind(href),
                "releasing a quarantined item",
            )
            .await?;
        Ok(())
    }

    /// Asks the next run to read quarantined items again although they did
    /// not change (R-WEB-14): each row's ETag becomes [`RETRY_ETAG`], which no
    /// listing carries, so the runner fetches the item instead of keeping
    /// the old verdict. `item` is one (collection, href); `None`: every
    /// quarantined item of the profile. In one transaction with the rows'
    /// history lines (`note`), written only for rows not already waiting, so
    /// a repeated retry changes nothing. Returns the matching rows (empty:
    /// nothing of that name is quarantined).
    pub async fn retry_quarantined(
        &self,
        profile: &str,
        item: Option<(&str, &str)>,
        note: impl Fn(&QuarantineRow) -> super::history::HistoryEntry,
    ) -> Result<Vec<QuarantineRow>> {
        let scope = if item.is_some() {
            "profile = $1 AND collection = $2 AND href = $3"
        } else {
            "profile = $1"
        };
        let bind = |sql: String| {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(profile.to_string());
            match item {
                Some((collection, href)) => q.bind(collection.to_string()).bind(href.to_string()),
                None => q,
            }
        };
        let mut tx = self.db.begin_write().await?;
        let rows = bind(format!(
            "SELECT profile, collection, href, etag, error, at FROM sync_quarantine WHERE {scope} \
             ORDER BY collection, href"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db("reading quarantined items"))?
        .iter()
        .map(quarantine_row)
        .collect::<Result<Vec<_>>>()?;
        bind(format!(
            "UPDATE sync_quarantine SET etag = '{RETRY_ETAG}' WHERE {scope}"
        ))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("marking quarantined items for a retry"))?;
        for row in rows.iter().filter(|r| r.etag != RETRY_ETAG) {
            super::history::insert_history(&mut tx, &note(row)).await?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db("marking quarantined items for a retry"))?;
        Ok(rows)
    }

    pub async fn quarantined(&self, profile: &str) -> Result<Vec<QuarantineRow>> {
        let rows = sqlx::query(
            "SELECT profile, collection, href, etag, error, at FROM sync_quarantine WHERE profile = $1 \
             ORDER BY collection, href",
        )
        .bind(profile)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading quarantined items"))?;
        rows.iter().map(quarantine_row).collect()
    }

    /// Stores the latest duplicates report of a collection (R-PAIR-2) as JSON.
    /// The report is a JSON array of groups; its length is kept beside it
    /// for the profiles' overview.
    pub async fn save_duplicates(&self, profile: &str, collection: &str, report: &str) -> Result<()> {
        let groups = serde_json::from_str::<Vec<serde_json::Value>>(report).map_or(0, |g| g.len() as i64);
        self.db
            .execute_write(
                sqlx::query(
                    "INSERT INTO sync_duplicates (profile, collection, report, at, group_count) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (profile, collection) DO UPDATE SET \
                     report = excluded.report, at = excluded.at, group_count = excluded.group_count",
                )
                .bind(profile)
                .bind(collection)
                .bind(report)
                .bind(now_ms())
                .bind(groups),
                "saving a duplicates report",
            )
            .await?;
        Ok(())
    }

    /// Every collection's latest duplicates report of a profile: (collection, JSON).
    pub async fn duplicates(&self, profile: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT collection, report FROM sync_duplicates WHERE profile = $1 ORDER BY collection")
            .bind(profile)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading duplicates reports"))?;
        rows.iter()
            .map(|r| Ok((get_text(r, "collection")?, get_text(r, "report")?)))
            .collect()
    }
}
