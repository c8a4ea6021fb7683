//! The tracked e-mails of several profiles as the dashboard lists them
//! (R-WEB-16), and a user's untrack of one (R-WEB-19): the row becomes
//! `released`, which the mail runner never tracks again, unlike a plain
//! `untracked` row that a message filed back is tracked again from.

use std::collections::HashSet;

use sqlx::any::AnyRow;

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{Arg, Sql, get_i64, get_text, now_ms};
use crate::status::TrackedMailRow;
use crate::status::mail::get_u64;

/// The state a user's untrack leaves (R-WEB-19).
pub const RELEASED: &str = "released";

/// One row of the list: the profile, the row, and whether a user untracked
/// it (`released`) rather than the mailbox (`untracked`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMail {
    pub profile: String,
    pub row: TrackedMailRow,
    pub released: bool,
}

impl SyncState {
    /// How many messages the profiles track or tracked.
    pub async fn tracked_mail_count(&self, profiles: &[String]) -> Result<u64> {
        if profiles.is_empty() {
            return Ok(0);
        }
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM mail_tracked WHERE profile IN (");
        in_list(&mut sql, profiles);
        sql.push(")");
        let row = sql
            .query(self.db.backend())
            .fetch_one(self.db.pool())
            .await
            .map_err(StoreError::db("counting tracked mail"))?;
        Ok(get_i64(&row, "n")? as u64)
    }

    /// One page of the profiles' tracked messages, the newest CRM e-mail
    /// first (the e-mail's creation, i.e. when it was first tracked).
    pub async fn tracked_mail_page(&self, profiles: &[String], offset: u64, limit: u64) -> Result<Vec<ListedMail>> {
        if profiles.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(format!(
            "SELECT {COLUMNS} FROM mail_tracked t LEFT JOIN activities a ON a.id = t.activity_id \
             WHERE t.profile IN ("
        ));
        in_list(&mut sql, profiles);
        sql.push(") ORDER BY COALESCE(a.created_at, 0) DESC, t.profile, t.message_key LIMIT ");
        let l = sql.arg(Arg::Int(limit as i64));
        sql.push(&l).push(" OFFSET ");
        let o = sql.arg(Arg::Int(offset as i64));
        sql.push(&o);
        let rows = sql
            .query(self.db.backend())
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("listing tracked mail"))?;
        rows.iter().map(listed).collect()
    }

    /// The profile's row of the message with this key.
    pub async fn tracked_mail_row(&self, profile: &str, message_key: &str) -> Result<Option<ListedMail>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM mail_tracked t WHERE t.profile = $1 AND t.message_key = $2"
        )))
        .bind(profile)
        .bind(message_key)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a tracked message"))?;
        row.as_ref().map(listed).transpose()
    }

    /// R-WEB-19: a user untracks the message: its row becomes `released`.
    /// `true` when it was not released before (a repeat changes nothing).
    pub async fn release_tracked_mail(&self, profile: &str, message_key: &str) -> Result<bool> {
        let done = self
            .db
            .execute_write(
                sqlx::query(
                    "UPDATE mail_tracked SET state = $1, updated_at = $2 \
                     WHERE profile = $3 AND message_key = $4 AND state <> $1",
                )
                .bind(RELEASED)
                .bind(now_ms())
                .bind(profile)
                .bind(message_key),
                "untracking a message",
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The keys a user untracked in the profile: the runner leaves them be.
    pub async fn released_mail_keys(&self, profile: &str) -> Result<HashSet<String>> {
        let rows = sqlx::query("SELECT message_key FROM mail_tracked WHERE profile = $1 AND state = $2")
            .bind(profile)
            .bind(RELEASED)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading untracked mail"))?;
        rows.iter().map(|r| get_text(r, "message_key")).collect()
    }
}

const COLUMNS: &str =
    "t.profile, t.message_key, t.activity_id, t.folder, t.uid_validity, t.uid, t.trigger_name, t.state, t.marked";

fn listed(r: &AnyRow) -> Result<ListedMail> {
    let state = get_text(r, "state")?;
    Ok(ListedMail {
        profile: get_text(r, "profile")?,
        row: TrackedMailRow {
            message_key: get_text(r, "message_key")?,
            activity_id: get_text(r, "activity_id")?,
            folder: get_text(r, "folder")?,
            uid_validity: get_u64(r, "uid_validity")?,
            uid: get_u64(r, "uid")?,
            trigger: get_text(r, "trigger_name")?,
            tracked: state == "tracked",
            marked: get_i64(r, "marked")? != 0,
        },
        released: state == RELEASED,
    })
}

fn in_list(sql: &mut Sql, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        let p = sql.arg(Arg::Text(v.clone()));
        sql.push(if i == 0 { "" } else { ", " }).push(&p);
    }
}
