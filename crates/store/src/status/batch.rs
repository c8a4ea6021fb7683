//! Several status-store writes in one transaction. Applying a plan records,
//! per action, a journal mark, a history entry and often a pair; committing
//! each on its own costs one durable commit (an fsync on SQLite) apiece, which
//! dominated a first sync. The runner collects the records of the writes that
//! were confirmed and commits them together: each still lands only after its
//! write was confirmed (R-SAFE-1), and a crash before the commit leaves the
//! steps `started`, which the next run resolves (R-SAFE-2).

use crate::SyncState;
use crate::error::{Result, StoreError};

use super::conflicts::add_conflict_in;
use super::history::insert_history_all;
use super::pairs::replace_pairs_in;
use super::runs::{Mark, mark_all_in};
use super::{ConflictRow, HistoryEntry, PairRow, StepState};

/// One status-store write. A batch leaves the state the ops applied in
/// order would, when the ops one by one would succeed (a batch may also
/// succeed on some orders one by one would refuse, see `replace_pairs_in`).
#[derive(Debug, Clone, PartialEq)]
pub enum StatusOp {
    Mark {
        run_id: String,
        step: i64,
        state: StepState,
        detail: Option<String>,
    },
    History(HistoryEntry),
    SavePair(PairRow),
    DeletePair(String),
    Conflict(ConflictRow),
}

impl SyncState {
    /// Applies `ops`, all or none, in a few statements per table rather
    /// than one or two per op (R-VDIR-12). When the ops one by one would
    /// succeed, it leaves the state they would: the tables do not refer to
    /// each other, so each table's ops are applied together, in their order
    /// within that table.
    pub async fn apply_status(&self, ops: &[StatusOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut marks = Vec::new();
        let mut history = Vec::new();
        let mut pairs: Vec<(&str, Option<&PairRow>)> = Vec::new();
        let mut conflicts = Vec::new();
        for op in ops {
            match op {
                StatusOp::Mark {
                    run_id,
                    step,
                    state,
                    detail,
                } => marks.push(Mark {
                    run_id,
                    step: *step,
                    state: *state,
                    detail: detail.as_deref(),
                }),
                StatusOp::History(e) => history.push(e),
                StatusOp::SavePair(p) => pairs.push((&p.id, Some(p))),
                StatusOp::DeletePair(id) => pairs.push((id, None)),
                StatusOp::Conflict(c) => conflicts.push(c),
            }
        }
        let mut tx = self.db.begin_write().await?;
        mark_all_in(&mut tx, &marks).await?;
        insert_history_all(&mut tx, &history).await?;
        replace_pairs_in(&mut tx, &pairs).await?;
        for c in conflicts {
            add_conflict_in(&mut tx, c).await?;
        }
        tx.commit().await.map_err(StoreError::db("saving sync status"))?;
        Ok(())
    }
}
