//! A chunk of tracked messages stored in one transaction (issue 14 item 9):
//! each new CRM e-mail, its key, its unknown sender's record and the
//! profile's status row of the message commit together or not at all. A
//! first scan of thousands of messages then costs one commit per chunk, not
//! one per message, and a crash anywhere leaves every message of a chunk
//! either fully stored or not at all, so a re-run converges (R-TRACK-5).

use std::collections::HashMap;

use crmsync_model::{Activity, ActivityFields, EntityKind, Validate};
use sqlx::Row;

use crate::Records;
use crate::email::{EmailCreate, NewSender, is_unique_violation};
use crate::error::{Result, StoreError};
use crate::records::{insert_record, new_id, require_record};
use crate::sql::{RECORD_COLUMNS, dynamic, record_from_row};
use crate::status::TrackedMailRow;
use crate::status::mail::upsert_tracked;

/// Keys per `IN (…)`: far below every backend's limit on bound parameters.
const KEYS_PER_QUERY: usize = 200;

/// How often a chunk is tried again after another run committed one of its
/// keys between our check and our insert (PostgreSQL; SQLite's write lock
/// excludes that). Each try sees more keys taken, so few are ever needed.
const RACE_RETRIES: usize = 5;

/// One message of a chunk that may become a CRM e-mail.
#[derive(Debug, Clone)]
pub struct NewTrackedEmail {
    /// The message key (normalised Message-ID or content hash).
    pub key: String,
    pub fields: ActivityFields,
    /// The record the unknown sender becomes (R-TRACK-2), if any.
    pub sender: Option<NewSender>,
    /// The profile's status row of the message, saved with the e-mail when
    /// it is created; its `activity_id` is set to the new e-mail's id.
    pub row: TrackedMailRow,
}

impl Records {
    /// Stores every e-mail of `emails` whose key is not a CRM e-mail yet,
    /// with its sender record and its status row of `profile`, in one
    /// transaction. The answers are in the order of `emails`: `Created`
    /// (the row is saved), or `Existing` when the key already was a CRM
    /// e-mail, or came earlier in the same chunk. For those nothing is
    /// written: the caller links its user and saves the row itself.
    pub async fn create_tracked_emails(
        &self,
        owner_id: &str,
        profile: &str,
        emails: &[NewTrackedEmail],
    ) -> Result<Vec<EmailCreate>> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        for e in emails {
            e.fields.validate()?;
            if let Some(sender) = &e.sender {
                sender.validate()?;
            }
        }
        for _ in 0..RACE_RETRIES {
            if let Some(done) = self.try_create_tracked_emails(owner_id, profile, emails).await? {
                return Ok(done);
            }
        }
        Err(StoreError::Conflict(format!(
            "other runs kept storing the same e-mails as this one ({} messages); the next run finishes them",
            emails.len()
        )))
    }

    async fn try_create_tracked_emails(
        &self,
        owner_id: &str,
        profile: &str,
        emails: &[NewTrackedEmail],
    ) -> Result<Option<Vec<EmailCreate>>> {
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, owner_id).await?;
        let keys: Vec<String> = emails.iter().map(|e| e.key.clone()).collect();
        let mut known = existing_emails(&mut tx, &keys).await?;
        let mut out = Vec::with_capacity(emails.len());
        for e in emails {
            if let Some(existing) = known.get(&e.key) {
                out.push(EmailCreate::Existing(existing.clone()));
                continue;
            }
            if let Some(sender) = e.sender.clone() {
                sender.insert(&mut tx, owner_id).await?;
            }
            let record = insert_record(&mut tx, new_id(), owner_id, e.fields.clone()).await?;
            let inserted = sqlx::query("INSERT INTO email_messages (message_key, activity_id) VALUES ($1, $2)")
                .bind(e.key.clone())
                .bind(record.meta.id.clone())
                .execute(&mut *tx)
                .await;
            match inserted {
                Ok(_) => {}
                // Another run committed the key after our check (PostgreSQL):
                // this transaction rolls back and the chunk is tried again.
                Err(e) if is_unique_violation(&e) => return Ok(None),
                Err(e) => return Err(StoreError::db("recording an e-mail's message key")(e)),
            }
            let row = TrackedMailRow {
                activity_id: record.meta.id.clone(),
                ..e.row.clone()
            };
            // Out of range: the error drops the transaction, so nothing of the chunk is written.
            upsert_tracked(profile, &row)?
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("saving tracked messages"))?;
            known.insert(e.key.clone(), record.clone());
            out.push(EmailCreate::Created(record));
        }
        tx.commit().await.map_err(StoreError::db("saving new e-mails"))?;
        self.db.announce_change();
        Ok(Some(out))
    }
}

/// The CRM e-mails of those of `keys` that already are one, by key.
async fn existing_emails(conn: &mut sqlx::AnyConnection, keys: &[String]) -> Result<HashMap<String, Activity>> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(KEYS_PER_QUERY) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let mut query = dynamic(format!(
            "SELECT message_key, activity_id FROM email_messages WHERE message_key IN ({})",
            marks.join(", ")
        ));
        for key in chunk {
            query = query.bind(key.clone());
        }
        let rows = query
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::db("looking up e-mails by message key"))?;
        if rows.is_empty() {
            continue;
        }
        let mut by_id = HashMap::new();
        for row in &rows {
            let key: String = row
                .try_get("message_key")
                .map_err(StoreError::db("reading a message key"))?;
            let id: String = row
                .try_get("activity_id")
                .map_err(StoreError::db("reading a message key"))?;
            by_id.insert(id, key);
        }
        let marks: Vec<String> = (1..=by_id.len()).map(|i| format!("${i}")).collect();
        let mut query = dynamic(format!(
            "SELECT {RECORD_COLUMNS} FROM activities WHERE id IN ({})",
            marks.join(", ")
        ));
        for id in by_id.keys() {
            query = query.bind(id.clone());
        }
        let records = query
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::db("reading e-mails"))?;
        for row in &records {
            let activity: Activity = record_from_row(row)?;
            if let Some(key) = by_id.get(&activity.meta.id) {
                out.insert(key.clone(), activity);
            }
        }
    }
    Ok(out)
}
