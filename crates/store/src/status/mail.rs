//! Mail tracking state (SPEC §10): where each watched folder stood after the
//! last poll (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT) and every message a profile
//! tracks with its UID and CRM e-mail, so a message is fetched once and a
//! UIDVALIDITY reset or re-run finds it again by its key (R-TRACK-5).
//!
//! UIDs and UIDVALIDITY are `u64` in the runner and BIGINT (signed) here:
//! IMAP's 32-bit and Graph's 63-bit values (R-GRAPH-42) are stored as they
//! are; a larger one is [`StoreError::OutOfRange`] on write and a negative
//! one read back is a corrupt row, never a wrapped number.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{get_i64, get_text, now_ms};

/// A folder's position after the last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFolderRow {
    pub uid_validity: u64,
    /// `None` on a server without CONDSTORE.
    pub highest_modseq: Option<u64>,
    pub uid_next: u64,
    /// A source's own resume point (Graph's delta link); `None` for IMAP.
    pub cursor: Option<String>,
}

/// One message a profile tracks or tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedMailRow {
    pub message_key: String,
    pub activity_id: String,
    pub folder: String,
    pub uid_validity: u64,
    pub uid: u64,
    /// `folder`, `keyword` or `reply`.
    pub trigger: String,
    pub tracked: bool,
    /// `$CRMTracked` is set on the message (R-TRACK-9).
    pub marked: bool,
}

impl SyncState {
    pub async fn mail_folder(&self, profile: &str, folder: &str) -> Result<Option<MailFolderRow>> {
        let row = sqlx::query(
            "SELECT uid_validity, highest_modseq, uid_next, cursor FROM mail_folders WHERE profile = $1 AND folder = $2",
        )
        .bind(profile)
        .bind(folder)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a mail folder's position"))?;
        row.map(|r| {
            let modseq: Option<i64> = r
                .try_get("highest_modseq")
                .map_err(StoreError::db("reading a mail folder's position"))?;
            Ok(MailFolderRow {
                uid_validity: get_u64(&r, "uid_validity")?,
                highest_modseq: modseq.map(|m| m as u64),
                uid_next: get_u64(&r, "uid_next")?,
                cursor: r
                    .try_get("cursor")
                    .map_err(StoreError::db("reading a mail folder's position"))?,
            })
        })
        .transpose()
    }

    /// Saved only after every message the poll found is in the CRM.
    pub async fn save_mail_folder(&self, profile: &str, folder: &str, at: &MailFolderRow) -> Result<()> {
        let uid_validity = to_column("UIDVALIDITY", at.uid_validity)?;
        let uid_next = to_column("UIDNEXT", at.uid_next)?;
        self.db
            .execute_write(
                sqlx::query(
                    "INSERT INTO mail_folders (profile, folder, uid_validity, highest_modseq, uid_next, cursor, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (profile, folder) DO UPDATE SET \
             uid_validity = excluded.uid_validity, highest_modseq = excluded.highest_modseq, \
             uid_next = excluded.uid_next, cursor = excluded.cursor, updated_at = excluded.updated_at",
                )
                .bind(profile)
                .bind(folder)
                .bind(uid_validity)
                .bind(at.highest_modseq.map(|m| m as i64))
                .bind(uid_next)
                .bind(at.cursor.clone())
                .bind(now_ms()),
                "saving a mail folder's position",
            )
            .await?;
        Ok(())
    }

    /// Every message the profile tracks or tracked.
    pub async fn tracked_mail(&self, profile: &str) -> Result<Vec<TrackedMailRow>> {
        let rows = sqlx::query(
            "SELECT message_key, activity_id, folder, uid_validity, uid, trigger_name, state, marked \
             FROM mail_tracked WHERE profile = $1 ORDER BY message_key",
        )
        .bind(profile)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading tracked mail"))?;
        rows.iter().map(tracked_from_row).collect()
    }

    /// Records (or moves) a tracked message; idempotent.
    pub async fn save_tracked_mail(&self, profile: &str, row: &TrackedMailRow) -> Result<()> {
        self.db
            .execute_write(upsert_tracked(profile, row)?, "saving a tracked message")
            .await?;
        Ok(())
    }

    /// [`SyncState::save_tracked_mail`] for many rows in one transaction
    /// (the keywords one `UID STORE` set).
    pub async fn save_tracked_mails(&self, profile: &str, rows: &[TrackedMailRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // Every row is checked before the transaction begins: one out of
        // range writes none of them.
        let upserts = rows
            .iter()
            .map(|row| upsert_tracked(profile, row))
            .collect::<Result<Vec<_>>>()?;
        let mut tx = self.db.begin_write().await?;
        for upsert in upserts {
            upsert
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("saving tracked messages"))?;
        }
        tx.commit().await.map_err(StoreError::db("saving tracked messages"))?;
        Ok(())
    }

    /// Forgets a profile's mail positions (not what it tracked): the next
    /// poll lists every watched folder in full (reset).
    pub async fn forget_mail_folders(&self, profile: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("DELETE FROM mail_folders WHERE profile = $1").bind(profile),
                "forgetting mail folder positions",
            )
            .await?;
        Ok(())
    }
}

pub(crate) fn upsert_tracked<'q>(
    profile: &'q str,
    row: &TrackedMailRow,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>> {
    let uid_validity = to_column("UIDVALIDITY", row.uid_validity)?;
    let uid = to_column("UID", row.uid)?;
    Ok(sqlx::query(
        "INSERT INTO mail_tracked (profile, message_key, activity_id, folder, uid_validity, uid, trigger_name, \
         state, marked, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (profile, message_key) DO UPDATE SET activity_id = excluded.activity_id, \
         folder = excluded.folder, uid_validity = excluded.uid_validity, uid = excluded.uid, \
         trigger_name = excluded.trigger_name, state = excluded.state, marked = excluded.marked, \
         updated_at = excluded.updated_at WHERE mail_tracked.state <> 'released'",
    )
    .bind(profile)
    .bind(row.message_key.clone())
    .bind(row.activity_id.clone())
    .bind(row.folder.clone())
    .bind(uid_validity)
    .bind(uid)
    .bind(row.trigger.clone())
    .bind(if row.tracked { "tracked" } else { "untracked" })
    .bind(i64::from(row.marked))
    .bind(now_ms()))
}

/// A UID, UIDVALIDITY or UIDNEXT as its BIGINT column holds it.
fn to_column(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what, value })
}

/// A UID, UIDVALIDITY or UIDNEXT column read back: never negative, as
/// [`to_column`] writes none.
pub(crate) fn get_u64(r: &AnyRow, col: &'static str) -> Result<u64> {
    let n = get_i64(r, col)?;
    u64::try_from(n).map_err(|_| StoreError::CorruptStatus {
        what: format!("mail column {col}"),
        reason: format!("{n} is negative"),
    })
}

fn tracked_from_row(r: &AnyRow) -> Result<TrackedMailRow> {
    Ok(TrackedMailRow {
        message_key: get_text(r, "message_key")?,
        activity_id: get_text(r, "activity_id")?,
        folder: get_text(r, "folder")?,
        uid_validity: get_u64(r, "uid_validity")?,
        uid: get_u64(r, "uid")?,
        trigger: get_text(r, "trigger_name")?,
        tracked: get_text(r, "state")? == "tracked",
        marked: get_i64(r, "marked")? != 0,
    })
}
