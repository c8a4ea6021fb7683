//! The change log (SPEC §1 "monotonically increasing version", R-SCHED-1):
//! one row per create, update and delete, numbered in commit order.
//!
//! Numbers come from the single `change_counter` row, bumped by
//! [`append`] as the LAST statement of each write transaction:
//! - The row lock taken by the bump is held until commit, so a second writer
//!   waits at its bump until the first has committed, and only then reads the
//!   new value. Numbers are therefore handed out in commit order: a reader
//!   that has seen N has seen every change below N, on PostgreSQL too (a plain
//!   sequence would let N+1 commit before N, and a reader at N+1 would skip N
//!   for ever).
//! - A rolled-back transaction rolls its bump back too: no gaps.
//! - Being last keeps the serialized section short (commit only) and free of
//!   deadlocks: whoever holds the counter needs no other lock afterwards.
//!
//! On SQLite writers are serialized anyway (`BEGIN IMMEDIATE`).

use crmsync_model::{Change, ChangeOp, EntityKind};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Records;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_i64, get_text};

/// Largest page [`Records::changes_since`] returns.
pub const MAX_CHANGES_PAGE: u32 = 1000;

pub(crate) struct NewChange<'a> {
    pub entity: EntityKind,
    pub record_id: &'a str,
    pub op: ChangeOp,
    pub version: i64,
    pub owner_id: &'a str,
    pub at_ms: i64,
}

/// Appends one change and returns its number. Call it last in the transaction
/// (see the module docs); only inserts of fresh keys may follow.
pub(crate) async fn append(conn: &mut AnyConnection, c: NewChange<'_>) -> Result<i64> {
    let seq: i64 =
        sqlx::query_scalar("UPDATE change_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db("numbering a change"))?;
    sqlx::query(
        "INSERT INTO changes (seq, entity, record_id, op, version, owner_id, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(seq)
    .bind(c.entity.as_str())
    .bind(c.record_id)
    .bind(c.op.as_str())
    .bind(c.version)
    .bind(c.owner_id)
    .bind(c.at_ms)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("logging a change"))?;
    Ok(seq)
}

fn change_from_row(row: &AnyRow) -> Result<Change> {
    let record_id = get_text(row, "record_id")?;
    let entity_text = get_text(row, "entity")?;
    let op_text = get_text(row, "op")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        entity: EntityKind::parse(&entity_text).unwrap_or(EntityKind::User),
        id: record_id.clone(),
        reason: format!("change log entry has unknown {what}"),
    };
    let entity = EntityKind::parse(&entity_text).ok_or_else(|| corrupt("entity"))?;
    let op = ChangeOp::parse(&op_text).ok_or_else(|| corrupt("operation"))?;
    Ok(Change {
        seq: get_i64(row, "seq")?,
        entity,
        op,
        version: get_i64(row, "version")?,
        owner_id: get_text(row, "owner_id")?,
        at: from_ms(get_i64(row, "at_ms")?),
        record_id,
    })
}

impl Records {
    /// Changes numbered above `seq`, oldest first, at most `limit` (capped at
    /// [`MAX_CHANGES_PAGE`]; 0 means the cap). Pass the last `seq` seen to
    /// continue; nothing committed later can get a number below it.
    pub async fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let limit = if limit == 0 {
            MAX_CHANGES_PAGE
        } else {
            limit.min(MAX_CHANGES_PAGE)
        };
        let rows = sqlx::query(
            "SELECT seq, entity, record_id, op, version, owner_id, at_ms FROM changes \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading the change log"))?;
        rows.iter().map(change_from_row).collect()
    }

    /// The number of the newest committed change (0 when there is none).
    pub async fn latest_seq(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT last_seq FROM change_counter WHERE id = 1")
            .fetch_one(self.db.pool())
            .await
            .map_err(StoreError::db("reading the change log"))
    }
}
