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
use crate::codec::Codec;
use crate::collect::{Lookups, engine_record};
use crate::compact_ids::CompactIds;
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
        for ids in deferred.batches(STREAM_BATCH) {
            let prepared = self.plan_batch(&ids, report).await;
            let (plan, crm) = match prepared {
                Ok(Some(planned)) => planned,
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
            let (applied, last) = self.applier().apply_streamed(&plan, &mut lookups, carried).await?;
            carried = last;
            created.extend(crate::participant_status::created_in_calendar(self.codec.class, &plan));
            add(applied, &mut streamed, report);
        }
        self.finish(carried, &mut streamed, report).await?;
        Ok(streamed)
    }

    /// Loads, maps and plans one batch, and notes the plan's warnings;
    /// `None` when the plan is held (it never is for creates).
    async fn plan_batch(
        &self,
        ids: &[String],
        report: &mut CollectionReport,
    ) -> Result<Option<(crmsync_engine::Plan, crate::crm_side::CrmState)>, SyncError> {
        let crm = crm_side::load_batch(self.store, self.profile, self.codec, ids).await?;
        let mut input = CollectionInput::new(self.codec.class, self.collection);
        let mut records: Vec<_> = crm.present.values().filter(|r| r.facts.readable).collect();
        records.sort_by(|a, b| a.record.id().cmp(b.record.id()));
        input.unpaired_crm = records.into_iter().map(engine_record).collect();
        input.kept_apart_crm = self.kept_apart_crm.clone();
        input.crm_total = Some(self.crm_total);
        input.groupware_total = Some(self.groupware_total);
        report.largest_batch = report.largest_batch.max(input.unpaired_crm.len());
        let plan = crmsync_engine::plan(self.rules, self.now, &input);
        drop(input);
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
