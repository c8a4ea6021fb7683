//! A full pass streams the CRM records no pair knows (R-SYNC-STREAM-1): when
//! nothing unpaired is on the groupware side, such a record can only be
//! created there (or skipped), whatever the other records are, so they are
//! loaded, mapped, planned, journaled and applied a batch at a time. The pass
//! holds their ids, not their records; memory follows the batch, not the
//! mailbox. Pairing (R-PAIR-1/2) and identity (R-SYNC-ID-2) need every
//! unpaired record beside every unpaired item, so a pass with unpaired items
//! loads everything as before.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use crmsync_connector::CollectionId;
use crmsync_engine::{CollectionInput, Profile};

use crate::apply::{Applied, Applier, Written};
use crate::codec::{Codec, MappingCounts};
use crate::collect::{Lookups, engine_record};
use crate::compact_ids::CompactIds;
use crate::directory::BatchDirectory;
use crate::error::SyncError;
use crate::faults::Faults;
use crate::groupware_side::GroupwareState;
use crate::pass_keys::PassKeys;
use crate::profile::SyncProfile;
use crate::report::CollectionReport;
use crate::runner::Progress;
use crate::stores::RunStores;
use crate::{crm_side, runner};

/// How many deferred records one batch loads, plans and applies.
pub const STREAM_BATCH: usize = 500;

/// Whether a full pass may defer its unpaired CRM records: nothing on the
/// groupware side could pair with them (every item read is paired).
pub(crate) fn may_defer(groupware: &GroupwareState, paired: &PassKeys) -> bool {
    groupware.items.keys().all(|href| paired.has_href(href))
}

/// What a streamed pass needs besides the deferred ids.
pub(crate) struct Stream<'a> {
    pub store: &'a RunStores,
    pub profile: &'a SyncProfile,
    pub rules: &'a Profile,
    pub now: DateTime<Utc>,
    pub codec: &'a Codec<'a>,
    pub run_id: &'a str,
    pub collection_id: &'a CollectionId,
    pub collection: &'a str,
    pub faults: Option<&'a Faults>,
    pub progress: &'a dyn Progress,
    /// Records the user keeps apart (R-PAIR-2), as the engine input wants them.
    pub kept_apart_crm: &'a BTreeSet<String>,
    /// The collection's totals as the whole pass saw them (for the guard).
    pub crm_total: usize,
    pub groupware_total: usize,
}

/// A batch loaded and planned, not yet admitted (its notes unrecorded).
struct Loaded {
    plan: crmsync_engine::Plan,
    crm: crate::crm_side::CrmState,
    /// The records its plan was given (for `largest_batch`).
    records: usize,
}

/// A batch journaled and ready to apply.
struct Ready {
    plan: crmsync_engine::Plan,
    crm: crate::crm_side::CrmState,
    /// The journal step of its plan's first action.
    first_step: i64,
    /// The records its plan was given (for `largest_batch`).
    records: usize,
}

/// What the batches did, beside what they added to the report.
#[derive(Debug, Default)]
pub(crate) struct Streamed {
    pub replanned: usize,
    pub wrote_groupware: bool,
    /// A batch's plan was held (it never is for creates; kept for safety).
    pub refused: bool,
}

impl Stream<'_> {
    /// Plans and applies `deferred` batch by batch, adding to `report` and to
    /// the appointments created in the user's calendar (R-CAL-3-STATUS).
    /// Each batch after the first is loaded, planned and journaled while
    /// the batch before it is applied (R-SYNC-STREAM-3).
    pub(crate) async fn apply(
        &self,
        deferred: &CompactIds,
        report: &mut CollectionReport,
        created: &mut crate::participant_status::CreatedIds,
    ) -> Result<Streamed, SyncError> {
        let mut streamed = Streamed::default();
        // The batch before's last chunk: written, not yet flushed and
        // recorded; the next batch records it beside its first writes
        // (R-VDIR-15).
        let mut carried = None;
        // Batches are mapped with a directory of their own: loading the
        // next batch beside this one's writes must not replace the lookups
        // this batch's chunks render with (`BatchDirectory::prepare`
        // replaces them; each chunk prepares the pass's directory from its
        // actions before its writes, R-SCALE-8).
        let directory = BatchDirectory::new(self.store, &self.profile.actor);
        let loader = Codec {
            class: self.codec.class,
            directory: &directory,
            vcard_version: self.codec.vcard_version,
            format: self.codec.format,
            counts: MappingCounts::default(),
        };
        let mut batches = deferred.batches(STREAM_BATCH);
        let mut next = match batches.next() {
            Some(ids) => Some(self.prepare(&ids, report, &loader).await),
            None => None,
        };
        while let Some(prepared) = next.take() {
            let Ready {
                plan,
                crm,
                first_step,
                records: held,
            } = match prepared {
                Ok(Some(ready)) => ready,
                Ok(None) => {
                    streamed.refused = true;
                    self.finish(carried, &mut streamed, report).await?;
                    return Ok(streamed);
                }
                Err(e) => return Err(self.applier().end_carried(carried, e).await),
            };
            let mut lookups = Lookups {
                crm: crm.present,
                ..Lookups::default()
            };
            // R-SYNC-STREAM-3: the next batch is read, planned and journaled
            // while this one's writes are in flight, so the writers do not
            // wait for it at the boundary. What runs beside the writes is
            // reads, pure work, the plan's notes (R-FIELD-6 warnings in the
            // history) and its `planned` journal rows (a crash leaves
            // them as it leaves a plan's later chunks: never started,
            // planned again by the next run); nothing of the next batch is
            // marked `started` or sent before this batch is applied (its
            // first chunk's mark comes in `apply_streamed`, as before). The
            // two batches share no record (each deferred id is in one
            // batch), and the next batch's records are read as a later load
            // would have read them: a change committed meanwhile is seen by
            // the next run from the pass's cursor either way
            // (`CrmState::high_seq`).
            let following = batches.next();
            let next_report = &mut *report;
            let (applied, prepared) = futures_util::future::join(
                self.applier().apply_streamed(&plan, first_step, &mut lookups, carried),
                async {
                    match following {
                        Some(ids) => Some(self.prepare(&ids, next_report, &loader).await),
                        None => None,
                    }
                },
            )
            .await;
            let (applied, last) = applied?;
            let next_held = match &prepared {
                Some(Ok(Some(ready))) => ready.records,
                _ => 0,
            };
            report.largest_batch = report.largest_batch.max(held + next_held);
            carried = last;
            created.extend(crate::participant_status::created_in_calendar(self.codec.class, &plan));
            add(applied, &mut streamed, report);
            next = prepared;
        }
        self.finish(carried, &mut streamed, report).await?;
        Ok(streamed)
    }

    /// Loads, maps and plans one batch: reads and pure work only.
    async fn load_and_plan(&self, ids: &[String], loader: &Codec<'_>) -> Result<Loaded, SyncError> {
        let crm = crm_side::load_batch(self.store, self.profile, loader, ids).await?;
        let mut input = CollectionInput::new(self.codec.class, self.collection);
        let mut records: Vec<_> = crm.present.values().filter(|r| r.facts.readable).collect();
        records.sort_by(|a, b| a.record.id().cmp(b.record.id()));
        input.unpaired_crm = records.into_iter().map(engine_record).collect();
        input.kept_apart_crm = self.kept_apart_crm.clone();
        input.crm_total = Some(self.crm_total);
        input.groupware_total = Some(self.groupware_total);
        let records = input.unpaired_crm.len();
        let plan = crmsync_engine::plan(self.rules, self.now, &input);
        Ok(Loaded { plan, crm, records })
    }

    /// Notes a loaded batch's warnings and checks its guard before it is
    /// applied; `None` when the plan is held (it never is for creates).
    async fn admit(
        &self,
        loaded: Loaded,
        report: &mut CollectionReport,
    ) -> Result<Option<(crmsync_engine::Plan, crate::crm_side::CrmState)>, SyncError> {
        let Loaded { plan, crm, records } = loaded;
        report.largest_batch = report.largest_batch.max(records);
        for w in &plan.warnings {
            if !report.warnings.contains(w) {
                report.warnings.push(w.clone());
            }
        }
        runner::record_plan_notes(self.store, &self.profile.name, self.collection, self.run_id, &plan).await?;
        if plan.is_refused() {
            report.guard = plan.guard.clone();
            return Ok(None);
        }
        Ok(Some((plan, crm)))
    }

    /// Loads, maps, plans and journals one batch; `None` when its plan is
    /// held (it never is for creates).
    /// `loader` maps the batch: a codec with a directory of its own.
    async fn prepare(
        &self,
        ids: &[String],
        report: &mut CollectionReport,
        loader: &Codec<'_>,
    ) -> Result<Option<Ready>, SyncError> {
        let loaded = self.load_and_plan(ids, loader).await;
        self.codec.counts.absorb(&loader.counts);
        let loaded = loaded?;
        let records = loaded.records;
        let Some((plan, crm)) = self.admit(loaded, report).await? else {
            return Ok(None);
        };
        let first_step = self.applier().journal(&plan).await?;
        Ok(Some(Ready {
            plan,
            crm,
            first_step,
            records,
        }))
    }

    /// Records the last batch's last chunk, which no batch carries.
    async fn finish(
        &self,
        carried: Option<Written>,
        streamed: &mut Streamed,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        if let Some(written) = carried {
            let applied = self.applier().record_carried(written, &mut Lookups::default()).await?;
            add(applied, streamed, report);
        }
        Ok(())
    }

    fn applier(&self) -> Applier<'_> {
        Applier {
            store: self.store,
            profile: self.profile,
            collection_id: self.collection_id,
            collection: self.collection,
            codec: self.codec,
            run_id: self.run_id,
            faults: self.faults,
            progress: self.progress,
            crm_lock: tokio::sync::Mutex::new(()),
        }
    }
}

/// What a batch (or a carried chunk) applied goes into the pass's totals.
fn add(applied: Applied, streamed: &mut Streamed, report: &mut CollectionReport) {
    streamed.wrote_groupware |= applied.wrote_groupware;
    streamed.replanned += applied.replanned;
    for (k, n) in applied.counts {
        *report.applied.entry(k).or_default() += n;
    }
    report.add_failures(applied.failed);
}
