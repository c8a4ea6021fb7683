use chrono::{DateTime, Utc};
use crmsync_engine::{Origin, PairState};
use crmsync_model::FieldMap;
use futures_util::TryStreamExt as _;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::columns::{TextColumn, get_enum};
use super::conflicts::ConflictResolution;
use crate::error::{Result, StoreError};
use crate::sql::{Arg, Sql, from_ms, get_i64, get_opt_text, get_text, now_ms, to_ms};
use crate::{Backend, SyncState};

/// One pair as stored. `origin` and `state` are the engine's enums (stored
/// as text, see `columns.rs`); `facts` is the engine's facts as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    pub id: String,
    pub profile: String,
    pub collection: String,
    pub crm_id: String,
    pub href: String,
    pub etag: String,
    pub uid: Option<String>,
    pub crm_version: i64,
    pub origin: Origin,
    pub state: PairState,
    pub base: FieldMap,
    /// JSON of the CRM facts at the last sync.
    pub facts: Option<String>,
    /// The groupware item as last written or read, so a rewrite keeps what
    /// crmsync does not map (R-MAP-6).
    pub raw: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, profile, collection, crm_id, href, etag, uid, crm_version, origin, state, base, facts, raw, updated_at";

fn from_row(row: &AnyRow) -> Result<PairRow> {
    let id = get_text(row, "id")?;
    let base_json = get_text(row, "base")?;
    let base = serde_json::from_str(&base_json).map_err(|e| StoreError::CorruptStatus {
        what: format!("pair {id}"),
        reason: e.to_string(),
    })?;
    Ok(PairRow {
        profile: get_text(row, "profile")?,
        collection: get_text(row, "collection")?,
        crm_id: get_text(row, "crm_id")?,
        href: get_text(row, "href")?,
        etag: get_text(row, "etag")?,
        uid: get_opt_text(row, "uid")?,
        crm_version: get_i64(row, "crm_version")?,
        origin: get_enum(row, "origin")?,
        state: get_enum(row, "state")?,
        base,
        facts: get_opt_text(row, "facts")?,
        raw: get_opt_text(row, "raw")?,
        updated_at: from_ms(get_i64(row, "updated_at")?),
        id,
    })
}

/// What a pass needs of every pair to see which ones changed: not the base,
/// the facts or the body, which only the pairs a pass plans need
/// ([`SyncState::pairs_by_id`]). A no-change pass parses no base (R-SYNC-STREAM-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairKey {
    pub id: String,
    pub crm_id: String,
    pub href: String,
    pub etag: String,
    pub uid: Option<String>,
    pub state: PairState,
}

/// How many ids one `IN (…)` lists: far below every backend's limit on
/// bound parameters.
const IDS_PER_QUERY: usize = 200;

impl SyncState {
    /// How many pairs one profile's collection has, counted by the
    /// database: no row decoded (R-COL-4 says how many).
    pub async fn pair_count(&self, profile: &str, collection: &str) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sync_pairs WHERE profile = $1 AND collection = $2")
            .bind(profile)
            .bind(collection)
            .fetch_one(self.db.pool())
            .await
            .map_err(StoreError::db("counting sync pairs"))?;
        Ok(get_i64(&row, "n")? as u64)
    }

    /// Hands `each` the key of every pair of one profile's collection, by
    /// id, one row at a time as the driver streams them: a caller keeps
    /// only what it needs of each (R-SCALE-10). The driver's rows are about
    /// twice the size of the keys (column names, typed values), and holding
    /// all of them at once was a first sync's peak.
    pub async fn for_each_pair_key(
        &self,
        profile: &str,
        collection: &str,
        mut each: impl FnMut(PairKey),
    ) -> Result<()> {
        self.for_each_pair_key_while(profile, collection, |key| {
            each(key);
            true
        })
        .await
    }

    /// [`SyncState::for_each_pair_key`] until `each` answers `false`: the
    /// rest of the rows are not read (a caller that keeps only so many).
    pub async fn for_each_pair_key_while(
        &self,
        profile: &str,
        collection: &str,
        mut each: impl FnMut(PairKey) -> bool,
    ) -> Result<()> {
        let mut rows = sqlx::query(
            "SELECT id, crm_id, href, etag, uid, state FROM sync_pairs WHERE profile = $1 AND collection = $2 ORDER BY id",
        )
        .bind(profile)
        .bind(collection)
        .fetch(self.db.pool());
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(StoreError::db("reading sync pair keys"))?
        {
            let more = each(PairKey {
                id: get_text(&row, "id")?,
                crm_id: get_text(&row, "crm_id")?,
                href: get_text(&row, "href")?,
                etag: get_text(&row, "etag")?,
                uid: get_opt_text(&row, "uid")?,
                state: get_enum(&row, "state")?,
            });
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// The pairs of one profile's collection whose CRM id is one of
    /// `crm_ids` or whose href is one of `hrefs`, each once, by id: the
    /// rows a pass plans (R-SYNC-STREAM-2), found through the unique
    /// indexes on (profile, collection, crm_id) and (…, href), so the pass
    /// needs no pair ids to ask for them (R-SCALE-10).
    pub async fn pairs_touching(
        &self,
        profile: &str,
        collection: &str,
        crm_ids: &[&str],
        hrefs: &[&str],
    ) -> Result<Vec<PairRow>> {
        let scope = [("profile", profile), ("collection", collection)];
        let mut out = self.pairs_where_in(&scope, "crm_id", crm_ids).await?;
        out.extend(self.pairs_where_in(&scope, "href", hrefs).await?);
        // A pair both sides touched is found twice.
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    /// The pairs with these ids (those that exist), by id.
    pub async fn pairs_by_id(&self, ids: &[String]) -> Result<Vec<PairRow>> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut out = self.pairs_where_in(&[], "id", &ids).await?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The pairs whose `column` is one of `values` and whose `scope`
    /// columns equal the values given, [`IDS_PER_QUERY`] values a query.
    async fn pairs_where_in(&self, scope: &[(&str, &str)], column: &str, values: &[&str]) -> Result<Vec<PairRow>> {
        let mut out = Vec::new();
        for chunk in values.chunks(IDS_PER_QUERY) {
            let mut conditions: Vec<String> = scope
                .iter()
                .enumerate()
                .map(|(i, (name, _))| format!("{name} = ${}", i + 1))
                .collect();
            let first = scope.len() + 1;
            let marks: Vec<String> = (first..first + chunk.len()).map(|i| format!("${i}")).collect();
            conditions.push(format!("{column} IN ({})", marks.join(", ")));
            let sql = format!("SELECT {COLUMNS} FROM sync_pairs WHERE {}", conditions.join(" AND "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for value in scope.iter().map(|(_, v)| v).chain(chunk) {
                query = query.bind(*value);
            }
            let rows = query
                .fetch_all(self.db.pool())
                .await
                .map_err(StoreError::db("reading sync pairs"))?;
            for row in &rows {
                out.push(from_row(row)?);
            }
        }
        Ok(out)
    }

    /// Every pair of one profile's collection.
    pub async fn pairs(&self, profile: &str, collection: &str) -> Result<Vec<PairRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_pairs WHERE profile = $1 AND collection = $2 ORDER BY id"
        )))
        .bind(profile)
        .bind(collection)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading sync pairs"))?;
        rows.iter().map(from_row).collect()
    }

    /// The pairs of one CRM record across a profile's collections.
    pub async fn pairs_of_record(&self, profile: &str, crm_id: &str) -> Result<Vec<PairRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_pairs WHERE profile = $1 AND crm_id = $2 ORDER BY collection"
        )))
        .bind(profile)
        .bind(crm_id)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading sync pairs"))?;
        rows.iter().map(from_row).collect()
    }

    /// A profile's pairs in one state (e.g. `removed_by_user`, R-DEL-2), by
    /// collection and CRM id.
    pub async fn pairs_in_state(&self, profile: &str, state: &str) -> Result<Vec<PairRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_pairs WHERE profile = $1 AND state = $2 ORDER BY collection, crm_id"
        )))
        .bind(profile)
        .bind(state)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading sync pairs"))?;
        rows.iter().map(from_row).collect()
    }

    /// Inserts or replaces a pair (by id). A pair is saved only after the side
    /// it depends on confirmed the write (R-SAFE-1): callers keep that order.
    pub async fn save_pair(&self, p: &PairRow) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        save_pair_in(&mut tx, p).await?;
        tx.commit().await.map_err(StoreError::db("saving a sync pair"))?;
        Ok(())
    }

    pub async fn delete_pair(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        delete_pair_in(&mut tx, id).await?;
        tx.commit().await.map_err(StoreError::db("deleting a sync pair"))
    }

    /// R-RESET-1: forgets pairs (never data) of a whole profile, one
    /// collection, or one CRM record, and the cursors they depend on, so the
    /// next sync re-pairs from full listings. Returns how many pairs went.
    pub async fn reset_pairs(&self, profile: &str, collection: Option<&str>, crm_id: Option<&str>) -> Result<u64> {
        self.reset_pairs_noting(profile, collection, crm_id, &[]).await
    }

    /// [`Self::reset_pairs`], writing `history` in the same transaction, so
    /// a record's history never lacks the reset that changed its fate (and
    /// never shows one that did not happen).
    pub async fn reset_pairs_noting(
        &self,
        profile: &str,
        collection: Option<&str>,
        crm_id: Option<&str>,
        history: &[super::history::HistoryEntry],
    ) -> Result<u64> {
        // The scope as SQL, numbered in the order the values are bound below.
        let mut by_collection = String::from("profile = $1");
        if collection.is_some() {
            by_collection.push_str(" AND collection = $2");
        }
        let mut by_pair = by_collection.clone();
        if crm_id.is_some() {
            by_pair.push_str(if collection.is_some() {
                " AND crm_id = $3"
            } else {
                " AND crm_id = $2"
            });
        }
        // (statement, whether it is scoped to the record too, what it does)
        let steps = [
            // R-RESET-2: the open conflicts of the forgotten pairs are closed
            // as `reset`. The next sync merges both sides afresh
            // (R-SYNC-ID-2) and queues what still differs on the new pair;
            // left open, the old ones would name a pair that no longer
            // exists and could not be resolved.
            (
                format!(
                    "UPDATE sync_conflicts SET resolved_at = {}, resolution = '{}' \
                     WHERE resolved_at IS NULL AND pair_id IN (SELECT id FROM sync_pairs WHERE {by_pair})",
                    now_ms(),
                    ConflictResolution::Reset.as_text()
                ),
                true,
                "closing the conflicts of reset pairs",
            ),
            (
                format!("DELETE FROM sync_pairs WHERE {by_pair}"),
                true,
                "resetting sync pairs",
            ),
            // A single record is re-found through a full listing only if the
            // cursor is gone too; a record reset therefore resets its cursors.
            (
                format!("DELETE FROM sync_cursors WHERE {by_collection}"),
                false,
                "resetting sync cursors",
            ),
            // A reset also discovers the collections again (R-SYNC-PERF-3):
            // the user may have reset because the mailbox was reorganised.
            (
                format!("DELETE FROM sync_collections WHERE {by_collection}"),
                false,
                "resetting remembered collections",
            ),
        ];
        let mut tx = self.db.begin_write().await?;
        let mut forgotten = 0;
        for (step, (sql, per_record, what)) in steps.into_iter().enumerate() {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(profile);
            if let Some(c) = collection {
                q = q.bind(c);
            }
            if let (true, Some(id)) = (per_record, crm_id) {
                q = q.bind(id);
            }
            let done = q.execute(&mut *tx).await.map_err(StoreError::db(what))?;
            // The pairs' own delete (the second step) says how many went.
            if step == 1 {
                forgotten = done.rows_affected();
            }
        }
        for entry in history {
            super::history::insert_history(&mut tx, entry).await?;
        }
        tx.commit().await.map_err(StoreError::db("resetting sync pairs"))?;
        Ok(forgotten)
    }
}

/// Replaces a pair inside the caller's transaction (see [`crate::SyncState::save_pair`]).
pub(super) async fn save_pair_in(conn: &mut AnyConnection, p: &PairRow) -> Result<()> {
    let base = serde_json::to_string(&p.base).expect("a field map always serialises");
    // Replace in two statements rather than an upsert on `id`: the pair's
    // href or crm id may have moved, and the unique keys on those must
    // not trip over the pair's own old row.
    sqlx::query("DELETE FROM sync_pairs WHERE id = $1")
        .bind(&p.id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("saving a sync pair"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sync_pairs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )))
    .bind(&p.id)
    .bind(&p.profile)
    .bind(&p.collection)
    .bind(&p.crm_id)
    .bind(&p.href)
    .bind(&p.etag)
    .bind(p.uid.clone())
    .bind(p.crm_version)
    .bind(p.origin.as_text())
    .bind(p.state.as_text())
    .bind(base)
    .bind(p.facts.clone())
    .bind(p.raw.clone())
    .bind(to_ms(p.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("saving a sync pair"))?;
    Ok(())
}

/// Pair rows written (or ids deleted) by one statement of [`replace_pairs_in`].
const PAIRS_PER_STATEMENT: usize = 100;

/// Saves and deletes pairs with the effect of [`save_pair_in`] and
/// [`delete_pair_in`] one after the other, in a few statements (R-VDIR-12):
/// every pair named is deleted, then each one's last saved row, unless it
/// was deleted after, is inserted. Deleting first keeps the unique keys on
/// href and CRM id from tripping over a pair's own old row, as in
/// `save_pair_in`. The effect is that of the ops one by one whenever those
/// would succeed; it also succeeds on some orders one by one refuses:
/// saving B with href H before deleting A that held H.
pub(super) async fn replace_pairs_in(conn: &mut AnyConnection, ops: &[(&str, Option<&PairRow>)]) -> Result<()> {
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, (id, _)) in ops.iter().enumerate() {
        last.insert(id, i);
    }
    // Each pair's last op: what the ops in order leave for it.
    let finals: Vec<&(&str, Option<&PairRow>)> = ops
        .iter()
        .enumerate()
        .filter(|(i, (id, _))| last[id] == *i)
        .map(|(_, op)| op)
        .collect();
    let named: Vec<&str> = finals.iter().map(|(id, _)| *id).collect();
    let saved: Vec<&PairRow> = finals.iter().filter_map(|(_, row)| *row).collect();
    for chunk in named.chunks(PAIRS_PER_STATEMENT) {
        let mut sql = Sql::new("DELETE FROM sync_pairs WHERE id IN ");
        sql.in_list(chunk.iter().copied());
        sql.query(Backend::of(conn))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("saving sync pairs"))?;
    }
    for chunk in saved.chunks(PAIRS_PER_STATEMENT) {
        let mut sql = Sql::new(format!("INSERT INTO sync_pairs ({COLUMNS}) VALUES "));
        for (i, p) in chunk.iter().enumerate() {
            let base = serde_json::to_string(&p.base).expect("a field map always serialises");
            sql.push(if i == 0 { "" } else { ", " }).row([
                Arg::Text(p.id.clone()),
                Arg::Text(p.profile.clone()),
                Arg::Text(p.collection.clone()),
                Arg::Text(p.crm_id.clone()),
                Arg::Text(p.href.clone()),
                Arg::Text(p.etag.clone()),
                Arg::OptText(p.uid.clone()),
                Arg::Int(p.crm_version),
                Arg::Text(p.origin.as_text().to_string()),
                Arg::Text(p.state.as_text().to_string()),
                Arg::Text(base),
                Arg::OptText(p.facts.clone()),
                Arg::OptText(p.raw.clone()),
                Arg::Int(to_ms(p.updated_at)),
            ]);
        }
        sql.query(Backend::of(conn))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("saving sync pairs"))?;
    }
    Ok(())
}

pub(super) async fn delete_pair_in(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sync_pairs WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("deleting a sync pair"))?;
    Ok(())
}
