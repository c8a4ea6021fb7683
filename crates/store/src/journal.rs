//! Journal entries: notes on a record. Non-system entries are part of what the
//! groupware shows below the notes separator (R-FIELD-5), so adding one is an
//! edit of the record: version bump and an Update in the change log, so every
//! profile rewrites the notes.

use std::collections::HashMap;

use crmsync_model::{ChangeOp, EntityKind, JournalEntry, NewJournalEntry, RecordRef, Validate};
use sqlx::any::AnyRow;

use crate::Records;
use crate::changelog::{self, NewChange};
use crate::entity::table;
use crate::error::{Result, StoreError};
use crate::records::{new_id, not_found, require_record};
use crate::sql::{Arg, Sql, dynamic, flag, from_ms, get_i64, get_opt_text, get_text, now_ms};

impl Records {
    /// Adds a note to `record`. A non-system entry bumps the record's version
    /// unconditionally (a note adds to the record, it cannot be stale) and logs
    /// an Update; a system entry changes nothing else.
    pub async fn add_journal_entry(
        &self,
        record: &RecordRef,
        author_id: Option<&str>,
        e: NewJournalEntry,
    ) -> Result<JournalEntry> {
        e.validate()?;
        let now = now_ms();
        let entry = JournalEntry {
            id: new_id(),
            record: record.clone(),
            text: e.text,
            system: e.system,
            author_id: author_id.map(str::to_string),
            created_at: from_ms(now),
        };
        let mut tx = self.db.begin_write().await?;
        if entry.system {
            require_record(&mut tx, record.entity, &record.id).await?;
        }
        sqlx::query(
            "INSERT INTO journal_entries (id, entity, record_id, text, system, author_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.id.clone())
        .bind(record.entity.as_str())
        .bind(record.id.clone())
        .bind(entry.text.clone())
        .bind(flag(entry.system))
        .bind(entry.author_id.clone())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("adding a journal entry"))?;
        if !entry.system {
            let row = dynamic(format!(
                "UPDATE {} SET version = version + 1, modified_at = $1 WHERE id = $2 RETURNING owner_id, version",
                table(record.entity)
            ))
            .bind(now)
            .bind(record.id.clone())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::db("adding a journal entry"))?;
            let row = row.ok_or_else(|| not_found(record.entity, &record.id))?;
            changelog::append(
                &mut tx,
                NewChange {
                    entity: record.entity,
                    record_id: &record.id,
                    op: ChangeOp::Update,
                    version: get_i64(&row, "version")?,
                    owner_id: &get_text(&row, "owner_id")?,
                    at_ms: now,
                },
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::db("saving a journal entry"))?;
        self.db.announce_change();
        Ok(entry)
    }

    /// The record's journal, newest first.
    pub async fn journal_entries(&self, record: &RecordRef) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT id, record_id, text, system, author_id, created_at FROM journal_entries \
             WHERE entity = $1 AND record_id = $2 ORDER BY created_at DESC, ordinal DESC",
        )
        .bind(record.entity.as_str())
        .bind(record.id.clone())
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading a journal"))?;
        rows.iter().map(|row| entry_from_row(row, record.entity)).collect()
    }

    /// The journals of many records of one entity, each newest first, by
    /// record id (a record without entries has none in the map). A pass maps
    /// its records a batch at a time: one query per batch of ids instead of
    /// one per record (R-VDIR-12).
    ///
    /// No permission check: it returns the notes of every id given. The
    /// caller passes only records the user may read (R-PERM-1), as the sync
    /// pass does with each record's facts.
    pub async fn journals_of(&self, entity: EntityKind, ids: &[String]) -> Result<HashMap<String, Vec<JournalEntry>>> {
        let mut journals: HashMap<String, Vec<JournalEntry>> = HashMap::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut sql = Sql::new(
                "SELECT id, record_id, text, system, author_id, created_at FROM journal_entries WHERE entity = ",
            );
            let e = sql.arg(Arg::Text(entity.as_str().to_string()));
            sql.push(&e)
                .push(" AND record_id IN ")
                .in_list(chunk.iter().map(String::as_str))
                .push(" ORDER BY created_at DESC, ordinal DESC");
            let rows = sql
                .query(self.db.backend())
                .fetch_all(self.db.pool())
                .await
                .map_err(StoreError::db("reading journals"))?;
            for row in &rows {
                let entry = entry_from_row(row, entity)?;
                journals.entry(entry.record.id.clone()).or_default().push(entry);
            }
        }
        Ok(journals)
    }
}

/// Ids bound in one query of [`Records::journals_of`].
const IDS_PER_QUERY: usize = 500;

fn entry_from_row(row: &AnyRow, entity: EntityKind) -> Result<JournalEntry> {
    Ok(JournalEntry {
        id: get_text(row, "id")?,
        record: RecordRef {
            entity,
            id: get_text(row, "record_id")?,
        },
        text: get_text(row, "text")?,
        system: get_i64(row, "system")? != 0,
        author_id: get_opt_text(row, "author_id")?,
        created_at: from_ms(get_i64(row, "created_at")?),
    })
}
