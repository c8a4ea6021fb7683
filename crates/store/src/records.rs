//! Create, read, update, reassign and delete records of any entity, each write
//! with its change-log entry in one transaction.

use crmsync_model::{ChangeOp, EntityKind, PartyKind, Record, RecordMeta};
use sqlx::AnyConnection;

use crate::Backend;
use crate::Records;
use crate::changelog::{self, NewChange};
use crate::entity::{Entity, fold, table};
use crate::error::{Result, StoreError};
use crate::sql::{
    Arg, RECORD_COLUMNS, Sql, dynamic, flag, from_ms, get_i64, get_text, now_ms, record_from_row, to_json,
};

impl Records {
    /// Stores a new record owned by `owner_id` (an existing user): validated,
    /// a fresh UUID v4 id, version 1, logged as a Create.
    pub async fn create<F: Entity>(&self, owner_id: &str, fields: F) -> Result<Record<F>> {
        fields.validate()?;
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, owner_id).await?;
        let mut record = insert_record(&mut tx, new_id(), owner_id, fields).await?;
        tx.commit().await.map_err(StoreError::db("saving a new record"))?;
        self.db.announce_change();
        self.show_participant_status(std::slice::from_mut(&mut record)).await?;
        Ok(record)
    }

    pub async fn get<F: Entity>(&self, id: &str) -> Result<Record<F>> {
        let row = dynamic(format!("SELECT {RECORD_COLUMNS} FROM {} WHERE id = $1", table(F::KIND)))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::db("reading a record"))?;
        let mut record = match row {
            Some(row) => record_from_row(&row)?,
            None => return Err(not_found(F::KIND, id)),
        };
        self.show_participant_status(std::slice::from_mut(&mut record)).await?;
        Ok(record)
    }

    /// The records with these ids that exist, in id order: one query per
    /// 200 ids (a batch of a streamed sync) instead of one per record.
    pub async fn get_many<F: Entity>(&self, ids: &[String]) -> Result<Vec<Record<F>>> {
        const IDS_PER_QUERY: usize = 200;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let mut query = dynamic(format!(
                "SELECT {RECORD_COLUMNS} FROM {} WHERE id IN ({})",
                table(F::KIND),
                marks.join(", ")
            ));
            for id in chunk {
                query = query.bind(id.clone());
            }
            let rows = query
                .fetch_all(self.db.pool())
                .await
                .map_err(StoreError::db("reading records"))?;
            for row in &rows {
                out.push(record_from_row(row)?);
            }
        }
        out.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        self.show_participant_status(&mut out).await?;
        Ok(out)
    }

    /// Replaces the fields if the record is still at `expected_version`
    /// (compare-and-set); otherwise nothing changes and the error says which
    /// version is current. Success bumps version and modified_at and logs an Update.
    pub async fn update<F: Entity>(&self, id: &str, expected_version: i64, fields: F) -> Result<Record<F>> {
        fields.validate()?;
        let mut tx = self.db.begin_write().await?;
        let Some(meta) = update_row(&mut tx, id, expected_version, &fields).await? else {
            return Err(stale_or_missing(&mut tx, F::KIND, id, expected_version).await);
        };
        log(&mut tx, F::KIND, &meta, ChangeOp::Update).await?;
        tx.commit().await.map_err(StoreError::db("saving an update"))?;
        self.db.announce_change();
        let mut record = Record { meta, fields };
        self.show_participant_status(std::slice::from_mut(&mut record)).await?;
        Ok(record)
    }

    /// Gives the record to `new_owner` (an existing user); versioned like
    /// [`Records::update`] and logged as an Update.
    pub async fn set_owner<F: Entity>(&self, id: &str, expected_version: i64, new_owner: &str) -> Result<Record<F>> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, new_owner).await?;
        let row = dynamic(format!(
            "UPDATE {} SET owner_id = $1, modified_at = $2, version = version + 1 \
             WHERE id = $3 AND version = $4 RETURNING {RECORD_COLUMNS}",
            table(F::KIND)
        ))
        .bind(new_owner.to_string())
        .bind(now)
        .bind(id.to_string())
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("changing a record's owner"))?;
        let Some(row) = row else {
            return Err(stale_or_missing(&mut tx, F::KIND, id, expected_version).await);
        };
        let mut record: Record<F> = record_from_row(&row)?;
        log(&mut tx, F::KIND, &record.meta, ChangeOp::Update).await?;
        tx.commit().await.map_err(StoreError::db("saving an owner change"))?;
        self.db.announce_change();
        self.show_participant_status(std::slice::from_mut(&mut record)).await?;
        Ok(record)
    }

    /// Deletes the record (only if still at `expected_version`, when given),
    /// logs a Delete and keeps a tombstone with the last state until
    /// [`Records::purge_tombstones`] is told every cursor has passed it.
    /// Its journal entries and sync flags go with it.
    pub async fn delete<F: Entity>(&self, id: &str, expected_version: Option<i64>) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let row = dynamic(format!(
            "DELETE FROM {} WHERE id = $1 AND ($2 < 0 OR version = $2) RETURNING {RECORD_COLUMNS}",
            table(F::KIND)
        ))
        .bind(id.to_string())
        .bind(expected_version.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("deleting a record"))?;
        let Some(row) = row else {
            return Err(stale_or_missing(&mut tx, F::KIND, id, expected_version.unwrap_or(-1)).await);
        };
        let record: Record<F> = record_from_row(&row)?;
        sqlx::query("DELETE FROM record_emails WHERE entity = $1 AND record_id = $2")
            .bind(F::KIND.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("deleting a record"))?;
        sqlx::query("DELETE FROM journal_entries WHERE entity = $1 AND record_id = $2")
            .bind(F::KIND.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("deleting a record"))?;
        // An id can live twice (`create_with_id` after a reset re-creates a
        // groupware-born record under its derived id): this delete's
        // tombstone replaces the earlier life's. Before the counter bump,
        // which must stay the last update of the transaction (changelog).
        sqlx::query("DELETE FROM tombstones WHERE entity = $1 AND record_id = $2")
            .bind(F::KIND.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("replacing a tombstone"))?;
        let at = now_ms();
        let seq = changelog::append(
            &mut tx,
            NewChange {
                entity: F::KIND,
                record_id: id,
                op: ChangeOp::Delete,
                version: record.meta.version,
                owner_id: &record.meta.owner_id,
                at_ms: at,
            },
        )
        .await?;
        // After the counter bump only inserts of fresh keys (see changelog).
        sqlx::query(
            "INSERT INTO tombstones (entity, record_id, owner_id, version, data, deleted_at, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(F::KIND.as_str())
        .bind(id)
        .bind(record.meta.owner_id.clone())
        .bind(record.meta.version)
        .bind(to_json(F::KIND, id, &record)?)
        .bind(at)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("keeping a tombstone"))?;
        tx.commit().await.map_err(StoreError::db("saving a delete"))?;
        self.db.announce_change();
        Ok(())
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn not_found(entity: EntityKind, id: &str) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

/// Inserts a validated record with its lookup rows and Create change.
pub(crate) async fn insert_record<F: Entity>(
    conn: &mut AnyConnection,
    id: String,
    owner_id: &str,
    fields: F,
) -> Result<Record<F>> {
    let now = now_ms();
    let meta = RecordMeta {
        id,
        owner_id: owner_id.to_string(),
        created_at: from_ms(now),
        modified_at: from_ms(now),
        version: 1,
    };
    dynamic(format!(
        "INSERT INTO {} (id, owner_id, created_at, modified_at, version, shared, name_key, data) \
         VALUES ($1, $2, $3, $3, 1, $4, $5, $6)",
        table(F::KIND)
    ))
    .bind(meta.id.clone())
    .bind(meta.owner_id.clone())
    .bind(now)
    .bind(flag(fields.shared()))
    .bind(fields.name_key())
    .bind(to_json(F::KIND, &meta.id, &fields)?)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("storing a new record"))?;
    write_lookup_rows(conn, &meta.id, &fields).await?;
    log(conn, F::KIND, &meta, ChangeOp::Create).await?;
    Ok(Record { meta, fields })
}

/// Replaces the fields of record `id` if it is still at `expected_version`,
/// with its lookup rows; `None` when no row matched. Logs nothing: the caller
/// appends the Update last (see changelog).
pub(crate) async fn update_row<F: Entity>(
    conn: &mut AnyConnection,
    id: &str,
    expected_version: i64,
    fields: &F,
) -> Result<Option<RecordMeta>> {
    let now = now_ms();
    let row = dynamic(format!(
        "UPDATE {} SET data = $1, name_key = $2, shared = $3, modified_at = $4, version = version + 1 \
         WHERE id = $5 AND version = $6 RETURNING owner_id, created_at, version",
        table(F::KIND)
    ))
    .bind(to_json(F::KIND, id, fields)?)
    .bind(fields.name_key())
    .bind(flag(fields.shared()))
    .bind(now)
    .bind(id.to_string())
    .bind(expected_version)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::db("updating a record"))?;
    let Some(row) = row else { return Ok(None) };
    let meta = RecordMeta {
        id: id.to_string(),
        owner_id: get_text(&row, "owner_id")?,
        created_at: from_ms(get_i64(&row, "created_at")?),
        modified_at: from_ms(now),
        version: get_i64(&row, "version")?,
    };
    clear_lookup_rows::<F>(conn, id).await?;
    write_lookup_rows(conn, id, fields).await?;
    Ok(Some(meta))
}

pub(crate) async fn log(conn: &mut AnyConnection, entity: EntityKind, meta: &RecordMeta, op: ChangeOp) -> Result<i64> {
    changelog::append(
        conn,
        NewChange {
            entity,
            record_id: &meta.id,
            op,
            version: meta.version,
            owner_id: &meta.owner_id,
            at_ms: crate::sql::to_ms(meta.modified_at),
        },
    )
    .await
}

/// Removes the rows copied out of a record's JSON for lookups, before an
/// update writes them again (a new record has none: a first scan of
/// thousands of e-mails saves two statements per record).
async fn clear_lookup_rows<F: Entity>(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM record_emails WHERE entity = $1 AND record_id = $2")
        .bind(F::KIND.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("indexing a record"))?;
    if F::KIND == EntityKind::Activity {
        sqlx::query("DELETE FROM activity_participants WHERE activity_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("indexing participants"))?;
    }
    Ok(())
}

/// Lookup rows one statement writes at most: 200 participants are 1,400
/// parameters, well inside both backends' limits.
const LOOKUP_ROWS_PER_STATEMENT: usize = 200;

/// Writes the rows copied out of the JSON for lookups (e-mails, activity
/// participants), so they never disagree with the record; any earlier ones
/// are cleared first ([`clear_lookup_rows`]). One statement per table
/// (R-STORE-15), not one per row: every statement is a hand-off to the
/// database's worker, and a tracked e-mail names three or four parties.
async fn write_lookup_rows<F: Entity>(conn: &mut AnyConnection, id: &str, fields: &F) -> Result<()> {
    let mut emails: Vec<String> = fields
        .emails()
        .into_iter()
        .map(fold)
        .filter(|e| !e.is_empty())
        .collect();
    emails.sort();
    emails.dedup();
    for chunk in emails.chunks(LOOKUP_ROWS_PER_STATEMENT) {
        let mut sql = Sql::new("INSERT INTO record_emails (entity, record_id, email) VALUES ");
        for (i, email) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).row([
                Arg::Text(F::KIND.as_str().to_owned()),
                Arg::Text(id.to_owned()),
                Arg::Text(email.clone()),
            ]);
        }
        sql.query(Backend::of(conn))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("indexing a record"))?;
    }
    if F::KIND != EntityKind::Activity {
        return Ok(());
    }
    let participants = fields.participants();
    for (at, chunk) in participants.chunks(LOOKUP_ROWS_PER_STATEMENT).enumerate() {
        let mut sql = Sql::new(
            "INSERT INTO activity_participants (activity_id, position, kind, party_id, email, role, invite) VALUES ",
        );
        for (i, p) in chunk.iter().enumerate() {
            let kind = match p.party.kind {
                PartyKind::User => "user",
                PartyKind::Contact => "contact",
                PartyKind::Lead => "lead",
                PartyKind::Email => "email",
            };
            let role = serde_json::to_value(p.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let position = at * LOOKUP_ROWS_PER_STATEMENT + i;
            sql.push(if i == 0 { "" } else { ", " }).row([
                Arg::Text(id.to_owned()),
                Arg::Int(position as i64),
                Arg::Text(kind.to_owned()),
                Arg::OptText(p.party.id.clone()),
                Arg::OptText(p.party.email.as_deref().map(fold)),
                Arg::Text(role),
                Arg::Int(flag(p.invite)),
            ]);
        }
        sql.query(Backend::of(conn))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("indexing participants"))?;
    }
    Ok(())
}

/// NotFound unless a record of `entity` with `id` exists.
pub(crate) async fn require_record(conn: &mut AnyConnection, entity: EntityKind, id: &str) -> Result<()> {
    current_version(conn, entity, id)
        .await?
        .map(|_| ())
        .ok_or_else(|| not_found(entity, id))
}

pub(crate) async fn current_version(conn: &mut AnyConnection, entity: EntityKind, id: &str) -> Result<Option<i64>> {
    dynamic(format!("SELECT version FROM {} WHERE id = $1", table(entity)))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::db("reading a record's version"))?
        .map(|row| get_i64(&row, "version"))
        .transpose()
}

/// Why a conditional write matched no row: the record is gone, or it moved on.
pub(crate) async fn stale_or_missing(
    conn: &mut AnyConnection,
    entity: EntityKind,
    id: &str,
    expected: i64,
) -> StoreError {
    match current_version(conn, entity, id).await {
        Ok(Some(current)) => StoreError::VersionConflict {
            entity,
            id: id.to_string(),
            expected,
            current,
        },
        Ok(None) => not_found(entity, id),
        Err(e) => e,
    }
}
