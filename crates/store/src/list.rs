//! Listing records a caller may see, in pages with an opaque cursor.
//!
//! Order is (modified_at, id): stable across pages, and a record edited while
//! someone pages moves to the end, so it is seen again rather than missed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crmsync_model::record::Id;
use crmsync_model::{Actor, Record, ValidationError};
use serde::{Deserialize, Serialize};

use crate::Records;
use crate::entity::{Entity, Visibility, table};
use crate::error::{Result, StoreError};
use crate::sql::{Arg, RECORD_COLUMNS, Sql, get_i64, get_text, record_from_row, to_ms};

/// Largest page [`Records::list`] returns; also what `limit: 0` means.
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only what this actor may read (R-PERM-2); `None` = no restriction
    /// (internal callers such as the sync runner).
    pub visible_to: Option<Actor>,
    pub owner_id: Option<Id>,
    /// Only records modified at or after this instant (inclusive, so a record
    /// written in the same millisecond as the caller's last look is not missed).
    pub modified_since: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, capped at [`MAX_PAGE`]; 0 means the cap.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow; pass it back as [`ListQuery::cursor`].
    pub next_cursor: Option<String>,
}

impl Records {
    pub async fn list<F: Entity>(&self, q: &ListQuery) -> Result<Page<Record<F>>> {
        let limit = if q.limit == 0 { MAX_PAGE } else { q.limit.min(MAX_PAGE) };
        let t = table(F::KIND);
        let mut sql = Sql::new(format!("SELECT {RECORD_COLUMNS} FROM {t} WHERE 1 = 1"));
        if let Some(actor) = q.visible_to.as_ref().filter(|a| !a.is_admin()) {
            match F::VISIBILITY {
                Visibility::All => {}
                Visibility::OwnerOrShared => {
                    let u = sql.arg(Arg::Text(actor.user_id.clone()));
                    sql.push(&format!(" AND (owner_id = {u} OR shared = 1)"));
                }
                Visibility::OwnerOrParticipant => {
                    let u = sql.arg(Arg::Text(actor.user_id.clone()));
                    sql.push(&format!(
                        " AND (owner_id = {u} OR EXISTS (SELECT 1 FROM activity_participants p \
                         WHERE p.activity_id = {t}.id AND p.kind = 'user' AND p.party_id = {u}))"
                    ));
                }
            }
        }
        if let Some(owner) = &q.owner_id {
            let o = sql.arg(Arg::Text(owner.clone()));
            sql.push(&format!(" AND owner_id = {o}"));
        }
        if let Some(since) = q.modified_since {
            let s = sql.arg(Arg::Int(to_ms(since)));
            sql.push(&format!(" AND modified_at >= {s}"));
        }
        if let Some(cursor) = &q.cursor {
            let (ms, id) = decode_cursor(cursor)?;
            let m = sql.arg(Arg::Int(ms));
            let i = sql.arg(Arg::Text(id));
            sql.push(&format!(" AND (modified_at > {m} OR (modified_at = {m} AND id > {i}))"));
        }
        // One more than asked tells whether another page exists.
        let l = sql.arg(Arg::Int(i64::from(limit) + 1));
        sql.push(&format!(" ORDER BY modified_at, id LIMIT {l}"));
        let rows = sql
            .query(self.db.backend())
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("listing records"))?;
        let more = rows.len() > limit as usize;
        let rows = &rows[..rows.len().min(limit as usize)];
        let next_cursor = match (more, rows.last()) {
            (true, Some(last)) => Some(encode_cursor(get_i64(last, "modified_at")?, &get_text(last, "id")?)),
            _ => None,
        };
        let mut items = rows.iter().map(record_from_row).collect::<Result<Vec<_>>>()?;
        self.show_participant_status(&mut items).await?;
        Ok(Page { items, next_cursor })
    }
}

fn encode_cursor(modified_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{modified_ms}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    let bad = || StoreError::Validation(ValidationError::new("cursor", "is not a cursor this server issued"));
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (ms, id) = text.split_once(':').ok_or_else(bad)?;
    // No id holds NUL, and PostgreSQL would refuse it as a parameter.
    if id.contains('\0') {
        return Err(bad());
    }
    Ok((ms.parse().map_err(|_| bad())?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let c = encode_cursor(1_700_000_000_123, "abc-1");
        assert_eq!(decode_cursor(&c).unwrap(), (1_700_000_000_123, "abc-1".to_string()));
        assert!(matches!(decode_cursor("%%%"), Err(StoreError::Validation(_))));
        assert!(matches!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("1:a\0b")),
            Err(StoreError::Validation(_))
        ));
        assert!(matches!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("nocolon")),
            Err(StoreError::Validation(_))
        ));
    }
}
