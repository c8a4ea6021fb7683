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
use super::history::insert_history;
use super::pairs::{delete_pair_in, save_pair_in};
use super::runs::mark_in;
use super::{ConflictRow, HistoryEntry, PairRow, StepState};

/// One status-store write; a batch applies them in order.
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
    /// Applies `ops` in order, all or none.
    pub async fn apply_status(&self, ops: &[StatusOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        for op in ops {
            match op {
                StatusOp::Mark {
                    run_id,
                    step,
                    state,
                    detail,
                } => mark_in(&mut tx, run_id, *step, *state, detail.as_deref()).await?,
                StatusOp::History(e) => insert_history(&mut tx, e).await?,
                StatusOp::SavePair(p) => save_pair_in(&mut tx, p).await?,
                StatusOp::DeletePair(id) => delete_pair_in(&mut tx, id).await?,
                StatusOp::Conflict(c) => {
                    add_conflict_in(&mut tx, c).await?;
                }
            }
        }
        tx.commit().await.map_err(StoreError::db("saving sync status"))?;
        Ok(())
    }
}
