//! Applies a journaled plan, action by action. Each write carries its
//! precondition (ETag, CRM version, must-not-exist); a pair is saved only
//! after the write it depends on was confirmed (R-SAFE-1). When a write finds
//! the item changed underneath, the rest of that item's actions are dropped
//! and the item is re-planned from fresh data: never forced (R-SAFE-2).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use crmsync_connector::{CollectionId, ConnectorError, Etag, Href};
use crmsync_engine::{Action, ActionKind, CrmFacts, EntityClass, PairState, Plan, Precondition, Subject, Target};
use crmsync_model::{ActivityFields, ContactFields, FieldMap};
use crmsync_store::StoreError;
use crmsync_store::status::{ConflictRow, PairRow, StatusOp, StepState};

use crate::chunks::{self, Item};
use crate::codec::{Codec, CrmRecord};
use crate::collect::{Lookups, derived_crm_id};
use crate::crm_write::CrmWriter;
use crate::error::SyncError;
use crate::faults::{CrashPoint, Faults};
use crate::history::HistoryScope;
use crate::pair_codec::facts_json;
use crate::profile::SyncProfile;
use crate::runner::Progress;
use crate::stores::RunStores;

mod pipeline;

pub(crate) use pipeline::Written;

pub(crate) struct Applier<'a> {
    pub store: &'a RunStores,
    pub profile: &'a SyncProfile,
    pub collection_id: &'a CollectionId,
    /// The status store's name for the collection (the class's folder name).
    pub collection: &'a str,
    pub codec: &'a Codec<'a>,
    pub run_id: &'a str,
    pub faults: Option<&'a Faults>,
    pub progress: &'a dyn Progress,
    /// Held while a CRM write runs (see `apply_one`).
    pub crm_lock: tokio::sync::Mutex<()>,
}

/// What applying one plan did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// "target kind" → how many were applied.
    pub counts: BTreeMap<String, usize>,
    /// Some action wrote to the groupware (its sync token is then stale).
    pub wrote_groupware: bool,
    /// Items whose precondition failed: re-planned from fresh data.
    pub replanned: usize,
    /// Items the CRM refused (validation) or that could not be rendered.
    pub failed: Vec<String>,
}

impl Applied {
    /// Adds what `other` applied.
    pub(crate) fn take(&mut self, other: Applied) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        self.wrote_groupware |= other.wrote_groupware;
        self.replanned += other.replanned;
        self.failed.extend(other.failed);
    }
}

/// The state of one item while its actions apply: what the last confirmed
/// write left, so the status actions after it record the right versions.
#[derive(Debug, Default, Clone)]
struct Slot {
    pair_id: Option<String>,
    crm_id: Option<String>,
    href: Option<String>,
    etag: Option<String>,
    crm_version: Option<i64>,
    raw: Option<String>,
    uid: Option<String>,
    facts: Option<CrmFacts>,
}

/// The span of one item (one subject's actions): the rule that chose its
/// first action and where the item is on both sides, so every line logged
/// while it applies says which item it is about.
fn item_span(first: &Action, lookups: &Lookups) -> tracing::Span {
    let subject = &first.subject;
    let pair = subject.pair_id.as_ref().and_then(|id| lookups.pairs.get(id));
    let href = subject.href.as_deref().or(pair.map(|p| p.href.as_str()));
    let crm_id = subject.crm_id.as_deref().or(pair.map(|p| p.crm_id.as_str()));
    tracing::info_span!("item", rule = first.rule.as_str(), href, crm_id)
}

/// What one item's actions left for the status store and the report.
#[derive(Default)]
struct ItemDone {
    /// Journal marks, history, pairs and conflicts, in the order they happened.
    ops: Vec<StatusOp>,
    /// The item's pairs as they are now (`None`: forgotten), for later chunks.
    pairs: Vec<(String, Option<PairRow>)>,
    /// Target and kind of each applied action.
    counts: Vec<(Target, ActionKind)>,
    replanned: usize,
    failed: Vec<String>,
}

/// The collection's pairs as one item sees them: as loaded, plus what the
/// item's own earlier actions saved or forgot.
struct PairView<'l> {
    stored: &'l HashMap<String, PairRow>,
    changed: BTreeMap<String, Option<PairRow>>,
}

impl PairView<'_> {
    fn get(&self, id: &str) -> Option<&PairRow> {
        match self.changed.get(id) {
            Some(changed) => changed.as_ref(),
            None => self.stored.get(id),
        }
    }
}

/// How many items one chunk holds: its status records are one commit. Small
/// enough that a crash leaves few steps `started` for the next run to check.
const CHUNK_ITEMS: usize = 64;

/// How one action ended.
enum Step {
    Done,
    /// The item changed underneath: drop its remaining actions, re-plan.
    Replan(String),
    /// The item cannot be written (invalid for the CRM, unrenderable): drop
    /// its remaining actions, report, go on with the others.
    Refused(String),
}

/// R-SAFE-4: the server refused this item for good; the item is reported
/// with the server's answer and the run goes on with the others.
fn refused_by_server(e: &ConnectorError) -> Step {
    Step::Refused(format!("the server refused the item (R-SAFE-4): {e}"))
}

impl Applier<'_> {
    pub(crate) async fn apply(&self, plan: &Plan, lookups: &mut Lookups) -> Result<Applied, SyncError> {
        let first_step = self.journal(plan).await?;
        let (applied, _) = self.apply_journaled(plan, first_step, lookups, None, false).await?;
        Ok(applied)
    }

    /// Applies one batch of a streamed pass (R-VDIR-15), already journaled
    /// from `first_step` (`journal`): `carried`, the batch before's last
    /// chunk, is recorded beside this batch's first writes, and this
    /// batch's last chunk is answered unrecorded for the next
    /// (`record_carried` when none follows).
    pub(crate) async fn apply_streamed(
        &self,
        plan: &Plan,
        first_step: i64,
        lookups: &mut Lookups,
        carried: Option<Written>,
    ) -> Result<(Applied, Option<Written>), SyncError> {
        self.apply_journaled(plan, first_step, lookups, carried, true).await
    }

    /// Writes a plan's actions to the journal, `planned`, and answers the
    /// step number of its first action (0 for an empty plan).
    pub(crate) async fn journal(&self, plan: &Plan) -> Result<i64, SyncError> {
        // R-SCALE-4: an empty plan journals nothing, so it opens no write
        // transaction (a fence check and a step count) either.
        if plan.actions.is_empty() {
            return Ok(0);
        }
        let journal: Vec<String> = plan
            .actions
            .iter()
            .map(|a| serde_json::to_string(a).expect("actions serialise"))
            .collect();
        Ok(self
            .store
            .sync_state()
            .journal_plan(self.run_id, &self.profile.name, self.collection, &journal)
            .await?)
    }

    async fn apply_journaled(
        &self,
        plan: &Plan,
        first_step: i64,
        lookups: &mut Lookups,
        carried: Option<Written>,
        carry_last: bool,
    ) -> Result<(Applied, Option<Written>), SyncError> {
        self.progress.start(self.collection, plan.actions.len() as u64);
        let actions = &plan.actions;
        let chunks = chunks::chunks(actions, chunks::items(actions), lookups, CHUNK_ITEMS);
        let applied = self
            .apply_chunks(actions, &chunks, first_step, lookups, carried, carry_last)
            .await?;
        self.progress.finish();
        Ok(applied)
    }

    fn mark(&self, first_step: i64, index: usize, state: StepState, detail: Option<String>) -> StatusOp {
        StatusOp::Mark {
            run_id: self.run_id.to_string(),
            step: first_step + index as i64,
            state,
            detail,
        }
    }

    /// Applies one item's actions in order and returns what the status store
    /// must record for them; nothing is written to it here (the chunk commits).
    async fn apply_item(
        &self,
        actions: &[Action],
        item: Item,
        first_step: i64,
        lookups: &Lookups,
        stop: &AtomicBool,
    ) -> Result<ItemDone, SyncError> {
        let history = HistoryScope {
            profile: &self.profile.name,
            collection: self.collection,
            run_id: Some(self.run_id),
        };
        let mut done = ItemDone::default();
        let mut pairs = PairView {
            stored: &lookups.pairs,
            changed: BTreeMap::new(),
        };
        let mut slot = self.slot_for(&actions[item.start].subject, lookups);
        let mut halted: Option<(StepState, String)> = None;
        let mut cut_short = false;
        for index in item {
            let action = &actions[index];
            if let Some((state, why)) = &halted {
                done.ops.push(self.mark(first_step, index, *state, Some(why.clone())));
                continue;
            }
            // Another item of the chunk failed and the run ends: a write not
            // yet sent, and all after it, go back to `planned`, so the next
            // run does not take it for one that may have landed. Status
            // actions after a confirmed write still record it.
            cut_short |= action.target != Target::Status && stop.load(Ordering::SeqCst);
            if cut_short {
                done.ops.push(self.mark(first_step, index, StepState::Planned, None));
                continue;
            }
            let outcome = self.apply_one(action, &mut slot, &mut pairs, &mut done.ops).await?;
            let (state, label) = match &outcome {
                Step::Done => (StepState::Done, "done".to_string()),
                Step::Replan(why) => (StepState::Replanned, format!("re-planned: {why}")),
                Step::Refused(why) => (StepState::Failed, format!("not applied: {why}")),
            };
            let detail = (state != StepState::Done).then(|| label.clone());
            done.ops.push(self.mark(first_step, index, state, detail));
            done.ops.push(StatusOp::History(history.entry(
                action,
                slot.crm_id.as_deref(),
                slot.href.as_deref(),
                &label,
                Utc::now(),
            )));
            let (target, kind, rule) = (action.target, action.kind.as_str(), action.rule.as_str());
            match &outcome {
                Step::Done => tracing::debug!(%target, kind, rule, "applied"),
                Step::Replan(why) => {
                    tracing::info!(%target, kind, rule, reason = %why, "changed underneath: re-planned")
                }
                Step::Refused(why) => tracing::warn!(%target, kind, rule, reason = %why, "not applied"),
            }
            match outcome {
                Step::Done => done.counts.push((action.target, action.kind)),
                Step::Replan(why) => {
                    done.replanned += 1;
                    halted = Some((StepState::Replanned, why));
                }
                Step::Refused(why) => {
                    done.failed.push(format!("{action}: {why}"));
                    halted = Some((StepState::Failed, why));
                }
            }
        }
        done.pairs = pairs.changed.into_iter().collect();
        Ok(done)
    }

    fn slot_for(&self, subject: &Subject, lookups: &Lookups) -> Slot {
        let mut slot = Slot {
            pair_id: subject.pair_id.clone(),
            crm_id: subject.crm_id.clone(),
            href: subject.href.clone(),
            ..Slot::default()
        };
        if let Some(pair) = subject.pair_id.as_ref().and_then(|id| lookups.pairs.get(id)) {
            slot.crm_id = slot.crm_id.or_else(|| Some(pair.crm_id.clone()));
            slot.href = slot.href.or_else(|| Some(pair.href.clone()));
            slot.etag = Some(pair.etag.clone());
            slot.crm_version = Some(pair.crm_version);
            slot.raw = pair.raw.clone();
            slot.uid = pair.uid.clone();
            slot.facts = pair.facts.as_deref().and_then(|f| serde_json::from_str(f).ok());
        }
        if let Some(rec) = slot.crm_id.as_ref().and_then(|id| lookups.crm.get(id)) {
            slot.crm_version = Some(rec.record.version());
            slot.facts = Some(rec.facts.clone());
        }
        if let Some(item) = slot.href.as_ref().and_then(|h| lookups.groupware.get(h)) {
            slot.etag = Some(item.item.etag.clone());
            slot.raw = Some(item.raw.clone());
            slot.uid = Some(item.uid.clone());
        }
        slot
    }

    fn crash(&self, point: CrashPoint, fired: Option<CrashPoint>) -> Result<(), SyncError> {
        match (fired, self.faults) {
            (Some(p), Some(f)) if p == point => Err(SyncError::InjectedCrash { step: f.writes_seen() }),
            _ => Ok(()),
        }
    }

    async fn apply_one(
        &self,
        action: &Action,
        slot: &mut Slot,
        pairs: &mut PairView<'_>,
        ops: &mut Vec<StatusOp>,
    ) -> Result<Step, SyncError> {
        let fired = if action.is_write() {
            self.faults.and_then(Faults::next_write)
        } else {
            None
        };
        self.crash(CrashPoint::BeforeWrite, fired)?;
        let step = match action.target {
            Target::Groupware => self.groupware_write(action, slot).await?,
            Target::Crm => {
                // CRM writes go one at a time: they share one database, and
                // linking a company (R-FIELD-2) must see an account another
                // item just created, not create it a second time.
                let _one_at_a_time = self.crm_lock.lock().await;
                self.crm_write(action, slot).await?
            }
            Target::Status => return Ok(self.status_write(action, slot, pairs, ops)),
        };
        if matches!(step, Step::Done) {
            self.crash(CrashPoint::AfterWrite, fired)?;
        }
        Ok(step)
    }

    async fn groupware_write(&self, action: &Action, slot: &mut Slot) -> Result<Step, SyncError> {
        let connector = &*self.profile.connector;
        let empty = FieldMap::new();
        let fields = action.fields.as_ref().unwrap_or(&empty);
        match action.kind {
            ActionKind::Create => {
                let Some(crm_id) = slot.crm_id.clone() else {
                    return Ok(Step::Refused("no CRM record to create from".into()));
                };
                let uid = self.codec.uid_for(&crm_id, fields);
                let body = match self.codec.render(fields, &uid, None, false) {
                    Ok(b) => b,
                    Err(e) => return Ok(Step::Refused(e.to_string())),
                };
                match connector.create(self.collection_id, &uid, body.as_bytes()).await {
                    Ok(meta) => {
                        slot.href = Some(meta.href.as_str().to_string());
                        slot.etag = Some(meta.etag.as_str().to_string());
                        slot.raw = Some(body);
                        slot.uid = Some(uid);
                        Ok(Step::Done)
                    }
                    // Ours from a run that crashed before recording it, or
                    // someone else's: either way the next pass reads it and
                    // pairs it by identity instead of writing twice.
                    Err(ConnectorError::AlreadyExists { .. }) => {
                        Ok(Step::Replan("an item with this UID already exists".into()))
                    }
                    Err(e) if e.is_item_refusal() => Ok(refused_by_server(&e)),
                    Err(e) => Err(e.into()),
                }
            }
            ActionKind::Update | ActionKind::Revert => {
                let (Some(href), Some(etag)) = (slot.href.clone(), expected_etag(action, slot)) else {
                    return Ok(Step::Refused("no item to update".into()));
                };
                let uid = slot
                    .uid
                    .clone()
                    .unwrap_or_else(|| self.codec.uid_for(slot.crm_id.as_deref().unwrap_or_default(), fields));
                let body = match self
                    .codec
                    .render(fields, &uid, slot.raw.as_deref(), action.kind == ActionKind::Revert)
                {
                    Ok(b) => b,
                    Err(e) => return Ok(Step::Refused(e.to_string())),
                };
                match connector
                    .update(self.collection_id, &Href::new(href), &Etag::new(etag), body.as_bytes())
                    .await
                {
                    Ok(new_etag) => {
                        slot.etag = Some(new_etag.as_str().to_string());
                        slot.raw = Some(body);
                        Ok(Step::Done)
                    }
                    Err(e @ (ConnectorError::PreconditionFailed { .. } | ConnectorError::NotFound { .. })) => {
                        Ok(Step::Replan(e.to_string()))
                    }
                    Err(e) if e.is_item_refusal() => Ok(refused_by_server(&e)),
                    Err(e) => Err(e.into()),
                }
            }
            ActionKind::Delete => {
                let (Some(href), Some(etag)) = (slot.href.clone(), expected_etag(action, slot)) else {
                    return Ok(Step::Refused("no item to delete".into()));
                };
                match connector
                    .delete(self.collection_id, &Href::new(href), &Etag::new(etag))
                    .await
                {
                    Ok(()) | Err(ConnectorError::NotFound { .. }) => Ok(Step::Done),
                    Err(e @ ConnectorError::PreconditionFailed { .. }) => Ok(Step::Replan(e.to_string())),
                    Err(e) => Err(e.into()),
                }
            }
            other => Ok(Step::Refused(format!("{} is not a groupware write", other.as_str()))),
        }
    }

    async fn crm_write(&self, action: &Action, slot: &mut Slot) -> Result<Step, SyncError> {
        let empty = FieldMap::new();
        let fields = action.fields.as_ref().unwrap_or(&empty);
        let result = match action.kind {
            ActionKind::Create => self.crm_create(fields, slot).await,
            ActionKind::Update | ActionKind::Revert => {
                let Some(id) = slot.crm_id.clone() else {
                    return Ok(Step::Refused("no CRM record to update".into()));
                };
                let expected = match action.precondition {
                    Precondition::CrmVersion(v) => v,
                    _ => slot.crm_version.unwrap_or_default(),
                };
                self.crm_update(&id, expected, fields, slot).await
            }
            ActionKind::Delete => {
                let Some(id) = slot.crm_id.clone() else {
                    return Ok(Step::Refused("no CRM record to delete".into()));
                };
                let expected = match action.precondition {
                    Precondition::CrmVersion(v) => Some(v),
                    _ => None,
                };
                let deleted = if self.codec.class == EntityClass::Contacts {
                    self.store.records().delete::<ContactFields>(&id, expected).await
                } else {
                    self.store.records().delete::<ActivityFields>(&id, expected).await
                };
                match deleted {
                    Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            other => return Ok(Step::Refused(format!("{} is not a CRM write", other.as_str()))),
        };
        match result {
            Ok(()) => Ok(Step::Done),
            Err(e @ StoreError::VersionConflict { .. }) => Ok(Step::Replan(e.to_string())),
            Err(e @ (StoreError::Validation(_) | StoreError::Forbidden(_))) => Ok(Step::Refused(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    async fn crm_create(&self, fields: &FieldMap, slot: &mut Slot) -> Result<(), StoreError> {
        let uid = slot.uid.clone().unwrap_or_default();
        let id = derived_crm_id(&self.profile.name, self.codec.class, &uid);
        let owner = &self.profile.actor.user_id;
        let record = if self.codec.class == EntityClass::Contacts {
            // A contact someone keeps in their address book is active;
            // `ContactFields::default()` is not (R-DEL-4 would unlink it).
            let blank = ContactFields {
                active: true,
                ..ContactFields::default()
            };
            let mut contact = self.codec.contact_fields(fields, &blank);
            self.crm_writer().link_account(&id, &mut contact, None).await?;
            CrmRecord::Contact(self.store.records().create_with_id(&id, owner, contact).await?)
        } else {
            let blank = self.codec.blank_activity(fields);
            let mut activity = self.codec.activity_fields(fields, &blank);
            if activity.ical_uid.is_none() && !uid.is_empty() {
                activity.ical_uid = Some(uid);
            }
            CrmRecord::Activity(self.store.records().create_with_id(&id, owner, activity).await?)
        };
        slot.crm_id = Some(record.id().to_string());
        slot.crm_version = Some(record.version());
        slot.facts = Some(match &record {
            CrmRecord::Contact(c) => CrmFacts::of_contact(c, &self.profile.actor, false),
            CrmRecord::Activity(a) => crate::codec::activity_facts(a, &self.profile.actor),
        });
        Ok(())
    }

    async fn crm_update(&self, id: &str, expected: i64, fields: &FieldMap, slot: &mut Slot) -> Result<(), StoreError> {
        slot.crm_version = Some(self.crm_writer().update(id, expected, fields).await?);
        Ok(())
    }

    fn crm_writer(&self) -> CrmWriter<'_> {
        CrmWriter {
            store: self.store,
            profile: self.profile,
            codec: self.codec,
            collection: self.collection,
            run_id: Some(self.run_id),
        }
    }

    /// Status actions only record: their rows join the chunk's commit.
    fn status_write(
        &self,
        action: &Action,
        slot: &mut Slot,
        pairs: &mut PairView<'_>,
        ops: &mut Vec<StatusOp>,
    ) -> Step {
        match action.kind {
            ActionKind::Pair | ActionKind::SaveBase => {
                let existing = slot.pair_id.as_ref().and_then(|id| pairs.get(id)).cloned();
                let (Some(crm_id), Some(href)) = (slot.crm_id.clone(), slot.href.clone()) else {
                    return Step::Refused("the write this pair depends on did not happen".into());
                };
                let origin = match (&existing, action.origin) {
                    (_, Some(o)) => o,
                    (Some(p), None) => p.origin,
                    (None, None) => crmsync_engine::Origin::Crm,
                };
                let row = PairRow {
                    // A conflict queued before this pair existed already
                    // named its id (see `Conflict` below).
                    id: existing
                        .as_ref()
                        .map(|p| p.id.clone())
                        .or_else(|| slot.pair_id.clone())
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    profile: self.profile.name.clone(),
                    collection: self.collection.to_string(),
                    crm_id,
                    href,
                    etag: slot.etag.clone().unwrap_or_default(),
                    uid: slot.uid.clone(),
                    crm_version: slot.crm_version.unwrap_or_default(),
                    origin,
                    state: existing.as_ref().map(|p| p.state).unwrap_or(PairState::Live),
                    base: action.fields.clone().unwrap_or_default(),
                    facts: slot.facts.as_ref().map(facts_json),
                    raw: slot.raw.clone(),
                    updated_at: Utc::now(),
                };
                ops.push(StatusOp::SavePair(row.clone()));
                slot.pair_id = Some(row.id.clone());
                pairs.changed.insert(row.id.clone(), Some(row));
            }
            ActionKind::Unlink | ActionKind::MarkRemovedByUser => {
                let state = if action.kind == ActionKind::Unlink {
                    PairState::Unlinked
                } else {
                    PairState::RemovedByUser
                };
                if let Some(mut row) = slot.pair_id.as_ref().and_then(|id| pairs.get(id)).cloned() {
                    row.state = state;
                    row.updated_at = Utc::now();
                    ops.push(StatusOp::SavePair(row.clone()));
                    pairs.changed.insert(row.id.clone(), Some(row));
                }
            }
            ActionKind::Forget => {
                if let Some(id) = &slot.pair_id {
                    ops.push(StatusOp::DeletePair(id.clone()));
                    pairs.changed.insert(id.clone(), None);
                }
            }
            ActionKind::Conflict => {
                // At a first sync the conflict comes before the pair is
                // saved: give the pair its id now. An empty id would make
                // every such conflict "the same pair's", and queueing one
                // would supersede (close) another pair's open conflict.
                let pair_id = slot
                    .pair_id
                    .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
                    .clone();
                let conflict = ConflictRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    profile: self.profile.name.clone(),
                    collection: self.collection.to_string(),
                    pair_id,
                    crm_id: slot.crm_id.clone().unwrap_or_default(),
                    href: slot.href.clone().unwrap_or_default(),
                    fields: serde_json::to_string(&action.conflicts).expect("conflicts serialise"),
                    created_at: Utc::now(),
                    resolved_at: None,
                    resolution: None,
                };
                ops.push(StatusOp::Conflict(conflict));
            }
            _ => {}
        }
        Step::Done
    }
}

/// The ETag a groupware write must match: the plan's, else the item's.
fn expected_etag(action: &Action, slot: &Slot) -> Option<String> {
    match &action.precondition {
        Precondition::Etag(e) => Some(e.clone()),
        _ => slot.etag.clone(),
    }
}
