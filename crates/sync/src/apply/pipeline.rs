//! Applies a plan's chunks with the writers kept busy across chunk
//! boundaries (R-VDIR-14): while chunk k's writes are in flight, chunk k-1
//! is made durable (`flush_writes`) and its results are committed, in the
//! same commit as chunk k+1's `started` marks. So a chunk boundary costs the
//! writers nothing unless the flush and commit take longer than a chunk's
//! writes.
//!
//! The order every write keeps (the argument of R-VDIR-11 and R-SAFE-2):
//! - its `started` mark is committed before it is sent: chunk k+1's marks
//!   go with chunk k-1's results, a commit that ends before chunk k+1's
//!   first write starts (both halves are joined before the next chunk);
//! - its result is committed only after a `flush_writes` that began after
//!   every write of its chunk had returned: chunk k's flush starts once its
//!   writes are joined. A write of chunk k+1 renamed while that flush runs
//!   may or may not be covered by it; the connector keeps the folder dirty
//!   (vdir marks a folder after each rename), so chunk k+1's own flush covers it;
//! - a failed flush records nothing of its chunk, nor of the chunk written
//!   beside it: their steps stay `started` for the next run (R-SAFE-2);
//! - a write never sent is not left `started` when the run ends on an error:
//!   the chunk marked ahead, and the writes a failing chunk did not send,
//!   go back to `planned`, best effort. Should that commit fail too (the
//!   store is what failed), the next run finds `started` steps that never
//!   ran, which recovery treats like any interrupted write (`recover.rs`): a
//!   create is looked up by identity and written again, an update's side is
//!   unchanged since the plan so its base stays. The same state a crash
//!   right after a `started` commit always left.
//!
//! A chunk that shares a pair, record or item with the chunk before it
//! (`Chunk::follows_previous`) waits until that chunk is recorded, as every
//! chunk did before: its items read the pairs the earlier chunk saved.
//!
//! Across the batches of a streamed pass (R-VDIR-15, `stream.rs`) the last
//! chunk of batch b is written but not recorded (`carry_last`); batch b+1's
//! `Applier` takes it in as the chunk before its first (`carried`). The
//! same order holds, with a plan boundary where a chunk boundary was:
//! - batch b+1's first chunk is marked `started` in a commit of its own
//!   before its first write (a carried chunk marks nothing ahead), and its
//!   later chunks are marked ahead as above;
//! - the carried chunk's flush starts once its writes were joined (they
//!   were, before its `Applier` returned), and its results are committed
//!   only after that flush, with batch b+1's second chunk's marks; a rename
//!   of batch b+1 landing during that flush is covered by its own chunk's;
//! - a failed flush records neither the carried chunk nor batch b+1's first
//!   chunk (the error path of any chunk pair);
//! - the carried chunk shares no pair, record or item with batch b+1: each
//!   deferred record is in one batch only and its create makes its own item;
//! - should batch b+1 fail before its first write (loading, journaling, its
//!   `started` commit) or should none follow, the carried chunk is flushed
//!   and recorded then (`end_carried`, `record_carried`); a crash instead
//!   leaves its steps `started`, which recovery checks like any chunk's.

use std::sync::atomic::{AtomicBool, Ordering};

use crmsync_engine::{Action, Target};
use crmsync_store::status::{StatusOp, StepState};
use tracing::Instrument as _;

use super::{Applied, Applier, ItemDone, item_span};
use crate::bounded::{BoxFuture, Finished, run_bounded};
use crate::chunks::{self, Chunk, Item};
use crate::collect::Lookups;
use crate::directory::Needs;
use crate::error::SyncError;

/// A chunk whose writes all returned, not yet flushed and recorded. A
/// streamed pass carries its batch's last one into the next batch's
/// `Applier` (R-VDIR-15).
pub(crate) struct Written {
    /// Its items' journal marks, history, pairs and conflicts, in plan order.
    ops: Vec<StatusOp>,
    /// Its items' outcomes (their `ops` taken), for the lookups and report.
    items: Vec<ItemDone>,
    /// How many actions it held, for the progress bar.
    actions: u64,
}

impl Written {
    fn of(mut done: Vec<(usize, ItemDone)>, items: &[Item]) -> Self {
        // The items that finished are recorded in plan order, also when
        // another failed: their writes were confirmed.
        done.sort_by_key(|(i, _)| *i);
        let mut ops = Vec::new();
        let items_done = done
            .into_iter()
            .map(|(_, mut item)| {
                ops.append(&mut item.ops);
                item
            })
            .collect();
        Written {
            ops,
            items: items_done,
            actions: items.iter().map(|item| item.len() as u64).sum(),
        }
    }

    /// The marks that set writes the chunk never sent back to `planned`:
    /// all of it a run may record when the chunk's flush did not happen.
    fn never_sent(&self) -> Vec<StatusOp> {
        self.ops
            .iter()
            .filter(|op| {
                matches!(
                    op,
                    StatusOp::Mark {
                        state: StepState::Planned,
                        ..
                    }
                )
            })
            .cloned()
            .collect()
    }
}

impl Applier<'_> {
    /// Applies `chunks`. `carried` is the last chunk of the batch before,
    /// written, not yet recorded: it is flushed and committed beside the
    /// first chunk's writes, as the chunk before it would be (R-VDIR-15).
    /// With `carry_last` the last chunk is answered unrecorded, for the
    /// next batch to record the same way; the caller records it should no
    /// batch follow (`record_carried`).
    pub(super) async fn apply_chunks(
        &self,
        actions: &[Action],
        chunks: &[Chunk],
        first_step: i64,
        lookups: &mut Lookups,
        carried: Option<Written>,
        carry_last: bool,
    ) -> Result<(Applied, Option<Written>), SyncError> {
        let mut applied = Applied::default();
        // The chunk before this one: written, not yet flushed and recorded.
        let mut unrecorded: Option<Written> = carried;
        // This chunk's `started` marks went with the previous chunk's commit.
        let mut marked_ahead = false;
        for (k, chunk) in chunks.iter().enumerate() {
            let marked = |state| self.write_marks(actions, &chunk.items, first_step, state);
            if let Err(e) = self.prepare(actions, &chunk.items, lookups).await {
                let never_sent = if marked_ahead {
                    marked(StepState::Planned)
                } else {
                    Vec::new()
                };
                return Err(self.end_on_error(unrecorded, never_sent, e).await);
            }
            if !marked_ahead {
                // Every write of the chunk is `started` before the first is
                // sent: whatever lands before a crash is then checked and
                // recorded by the next run (R-SAFE-2, recover.rs).
                let started = self.store.sync_state().apply_status(&marked(StepState::Started)).await;
                if let Err(e) = started {
                    // A chunk carried from the batch before is still
                    // recorded once flushed: its writes all returned.
                    return Err(self.end_on_error(unrecorded, Vec::new(), e.into()).await);
                }
            }
            let ahead = chunks.get(k + 1).filter(|next| !next.follows_previous);
            let ahead_marks = ahead.map_or_else(Vec::new, |next| {
                self.write_marks(actions, &next.items, first_step, StepState::Started)
            });
            let stop = AtomicBool::new(false);
            let (finished, recorded) = tokio::join!(
                self.write_chunk(actions, &chunk.items, first_step, lookups, &stop),
                self.record(unrecorded.take(), ahead_marks, &stop),
            );
            let Finished { done, error } = finished;
            if let Some(SyncError::InjectedCrash { step }) = error {
                // A simulated crash: nothing after it reaches the status store.
                return Err(SyncError::InjectedCrash { step });
            }
            let written = Written::of(done, &chunk.items);
            let previous = match recorded {
                Ok(previous) => previous,
                Err(e) => {
                    if let Some(write_error) = error {
                        tracing::warn!(error = %write_error, "a write failed beside a failed flush or commit");
                    }
                    // Nothing of this chunk either: the flush that failed
                    // may have been the one to cover some of its writes.
                    return Err(self.end_on_error(None, written.never_sent(), e).await);
                }
            };
            if let Some(previous) = previous {
                self.take_in(previous, &mut applied, lookups);
            }
            if let Some(e) = error {
                let never_sent = ahead.map_or_else(Vec::new, |next| {
                    self.write_marks(actions, &next.items, first_step, StepState::Planned)
                });
                return Err(self.end_on_error(Some(written), never_sent, e).await);
            }
            marked_ahead = ahead.is_some();
            if marked_ahead {
                unrecorded = Some(written);
            } else if carry_last && k + 1 == chunks.len() {
                // The batch's last chunk: the next batch records it beside
                // its own first writes. Its progress shows now, in this
                // batch's bar.
                let mut written = written;
                self.progress.advance(std::mem::take(&mut written.actions));
                return Ok((applied, Some(written)));
            } else {
                // The last chunk, or the next one reads what this one saved.
                let stop = AtomicBool::new(false);
                if let Some(recorded) = self.record(Some(written), Vec::new(), &stop).await? {
                    self.take_in(recorded, &mut applied, lookups);
                }
            }
        }
        // No chunk: what was carried in is still unrecorded.
        match unrecorded {
            Some(written) if !carry_last => {
                applied.take(self.record_carried(written, lookups).await?);
            }
            carried => return Ok((applied, carried)),
        }
        Ok((applied, None))
    }

    /// Flushes and commits `written`, the last chunk of the batch before,
    /// when no batch follows it to carry it (R-VDIR-15).
    pub(crate) async fn record_carried(&self, written: Written, lookups: &mut Lookups) -> Result<Applied, SyncError> {
        let mut applied = Applied::default();
        let stop = AtomicBool::new(false);
        if let Some(recorded) = self.record(Some(written), Vec::new(), &stop).await? {
            self.take_in(recorded, &mut applied, lookups);
        }
        Ok(applied)
    }

    /// The run ends on `error` before `written`, a carried chunk, could be
    /// recorded beside the next batch: it is recorded once flushed, as a
    /// chunk whose writes returned always is (R-VDIR-15).
    pub(crate) async fn end_carried(&self, written: Option<Written>, error: SyncError) -> SyncError {
        if written.is_none() {
            return error;
        }
        self.end_on_error(written, Vec::new(), error).await
    }

    /// A `state` mark for every write of `items` (status actions only record).
    fn write_marks(&self, actions: &[Action], items: &[Item], first_step: i64, state: StepState) -> Vec<StatusOp> {
        items
            .iter()
            .flat_map(|item| chunks::write_actions(actions, item))
            .map(|i| self.mark(first_step, i, state, None))
            .collect()
    }

    /// Rendering and CRM writes map: the directory looks up the attendees
    /// the chunk's writes list, and only those (R-SCALE-8). It replaces the
    /// previous chunk's lookups, so it runs only once no write of that chunk
    /// is in flight.
    async fn prepare(&self, actions: &[Action], items: &[Item], lookups: &Lookups) -> Result<(), SyncError> {
        let mut needs = Needs::default();
        let mut any = false;
        for i in items.iter().flat_map(|item| chunks::write_actions(actions, item)) {
            any = true;
            let action = &actions[i];
            if let Some(fields) = &action.fields {
                needs.of_fields(fields);
            }
            // A CRM update merges into the record's own participants: the
            // pass holds the record, so they are asked with the chunk rather
            // than one record at a time (`top_up`).
            if action.target == Target::Crm
                && let Some(state) = action.subject.crm_id.as_ref().and_then(|id| lookups.crm.get(id))
            {
                needs.of_record(&state.record);
            }
        }
        if any {
            self.codec.prepare(needs).await?;
        }
        Ok(())
    }

    /// Runs the chunk's items, up to `write_concurrency` at once.
    async fn write_chunk(
        &self,
        actions: &[Action],
        items: &[Item],
        first_step: i64,
        lookups: &Lookups,
        stop: &AtomicBool,
    ) -> Finished<ItemDone, SyncError> {
        let futures: Vec<BoxFuture<'_, Result<ItemDone, SyncError>>> = items
            .iter()
            .map(|item| -> BoxFuture<'_, Result<ItemDone, SyncError>> {
                let span = item_span(&actions[item.start], lookups);
                Box::pin(
                    self.apply_item(actions, item.clone(), first_step, lookups, stop)
                        .instrument(span),
                )
            })
            .collect();
        run_bounded(futures, self.profile.write_concurrency, stop).await
    }

    /// Makes `written` durable, then commits its results together with
    /// `ahead` (the next chunk's `started` marks). R-SAFE-6: what a chunk
    /// wrote is made durable before the status store records it (vdir
    /// fsyncs its folder here). Should the flush or the commit fail, nothing
    /// is recorded and `stop` tells the chunk in flight to send no more.
    async fn record(
        &self,
        written: Option<Written>,
        ahead: Vec<StatusOp>,
        stop: &AtomicBool,
    ) -> Result<Option<Written>, SyncError> {
        let result = async {
            let mut ops = Vec::new();
            let written = match written {
                Some(mut written) => {
                    self.profile.connector.flush_writes().await?;
                    ops = std::mem::take(&mut written.ops);
                    Some(written)
                }
                None => None,
            };
            ops.extend(ahead);
            self.store.sync_state().apply_status(&ops).await?;
            Ok(written)
        }
        .await;
        if result.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        result
    }

    /// What a recorded chunk did goes into the lookups (later chunks read
    /// its pairs) and the report.
    fn take_in(&self, recorded: Written, applied: &mut Applied, lookups: &mut Lookups) {
        for done in recorded.items {
            for (id, row) in done.pairs {
                match row {
                    Some(row) => lookups.pairs.insert(id, row),
                    None => lookups.pairs.remove(&id),
                };
            }
            for (target, kind) in done.counts {
                applied.wrote_groupware |= target == Target::Groupware;
                *applied.counts.entry(format!("{target} {}", kind.as_str())).or_default() += 1;
            }
            applied.replanned += done.replanned;
            applied.failed.extend(done.failed);
        }
        self.progress.advance(recorded.actions);
    }

    /// The run ends on `error`; what may still be recorded is: `written`
    /// (a chunk whose writes all returned) once flushed, as before R-VDIR-14,
    /// and `never_sent` (marks back to `planned`). A failure here is logged:
    /// the run's error stays `error`.
    async fn end_on_error(
        &self,
        written: Option<Written>,
        mut never_sent: Vec<StatusOp>,
        error: SyncError,
    ) -> SyncError {
        let mut ops = Vec::new();
        if let Some(written) = written {
            match self.profile.connector.flush_writes().await {
                Ok(()) => ops = written.ops,
                Err(e) => {
                    tracing::warn!(error = %e, "flush after a failed chunk");
                    ops = written.never_sent();
                }
            }
        }
        ops.append(&mut never_sent);
        if let Err(e) = self.store.sync_state().apply_status(&ops).await {
            tracing::warn!(error = %e, "recording what a failed run did not send");
        }
        error
    }
}
