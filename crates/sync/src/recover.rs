//! Resuming after a crash (R-SAFE-2). A run that died leaves journal steps
//! `planned` or `started`. Nothing needs undoing: every write was conditional,
//! and the next pass sees its effects as ordinary changes —
//! - a groupware create that landed shows up as an unpaired item whose UID is
//!   the CRM id, and is paired by identity, not written again;
//! - a CRM create that landed has the id derived from the item's UID, so
//!   `create_with_id` finds it instead of making a second record;
//! - an update that landed makes both sides equal, which the merge records as
//!   agreement; a delete that landed is seen as deleted on that side.
//!
//! So recovery closes the old steps (for the record) and lets the pass re-plan.
//! It also hands the pass the base each interrupted create would have saved
//! with its pair ([`InterruptedCreates`]): the item or record it finds by
//! identity then merges against what crmsync wrote, not against what the
//! other side holds now (R-SYNC-ID-2).
//! Runs still marked `running` are closed as `interrupted` too: the run that
//! recovers holds the profile's lease, so no other run of it is alive.

use std::collections::HashMap;

use chrono::Utc;
use crmsync_engine::{Action, ActionKind, CrmRecord, GroupwareItem, PairStatus, Precondition, Target};
use crmsync_model::FieldMap;
use crmsync_store::status::{HistoryEntry, JournalStep, StepState};

use crate::error::SyncError;
use crate::stores::RunStores;

/// What the creates of interrupted runs wrote, per collection: the base the
/// pair of each would have got, by the CRM id a groupware create wrote from
/// and by the href a CRM create read from.
#[derive(Debug, Default)]
pub(crate) struct InterruptedCreates {
    by_crm_id: HashMap<(String, String), FieldMap>,
    by_href: HashMap<(String, String), FieldMap>,
    /// Updates and reverts that were `started` (each may have landed), and
    /// the base their pair would have been saved with, by (collection, pair).
    updates: HashMap<(String, String), (Vec<Action>, Option<FieldMap>)>,
}

impl InterruptedCreates {
    /// The base for an item created in the groupware from CRM record `crm_id`.
    pub(crate) fn groupware_create(&self, collection: &str, crm_id: &str) -> Option<&FieldMap> {
        self.by_crm_id.get(&(collection.to_string(), crm_id.to_string()))
    }

    /// The CRM records whose groupware create an interrupted run started in
    /// `collection` (R-SYNC-CRASH-3).
    pub(crate) fn groupware_create_ids<'a>(&'a self, collection: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.by_crm_id
            .keys()
            .filter(move |(c, _)| c == collection)
            .map(|(_, id)| id.as_str())
    }

    /// The base for a CRM record created from groupware item `href`.
    pub(crate) fn crm_create(&self, collection: &str, href: &str) -> Option<&FieldMap> {
        self.by_href.get(&(collection.to_string(), href.to_string()))
    }

    /// The base of a pair whose both sides were read, once the updates an
    /// interrupted run `started` on it are accounted for (R-SYNC-CRASH-2,
    /// R-EDIT-3). Such a write may have landed, and the side it wrote may
    /// have been edited since: a field that side holds back at its old value
    /// is then either unwritten or a user's edit, which nothing can tell
    /// apart. So for each field it wrote, on a side that changed since the
    /// write was planned: a side holding the written value has it as base
    /// (the write landed); a side holding anything else leaves the field
    /// with no known base, so a difference is a conflict under the policy,
    /// never a plain propagation of the older value over a newer edit.
    /// A side unchanged since the plan was not written: the base stays.
    pub(crate) fn settle_base(&self, collection: &str, pair: &mut PairStatus, crm: &CrmRecord, gw: &GroupwareItem) {
        let Some((updates, planned)) = self.updates.get(&(collection.to_string(), pair.id.clone())) else {
            return;
        };
        for update in updates {
            let (now, changed) = match (update.target, &update.precondition) {
                (Target::Groupware, Precondition::Etag(e)) => (&gw.fields, gw.etag != *e),
                (Target::Crm, Precondition::CrmVersion(v)) => (&crm.fields, crm.version != *v),
                (Target::Groupware, _) => (&gw.fields, true),
                (Target::Crm, _) => (&crm.fields, true),
                (Target::Status, _) => continue,
            };
            if !changed {
                continue;
            }
            let Some(written) = &update.fields else { continue };
            for w in &update.writes {
                if now.get(&w.key) == written.get(&w.key) {
                    let base = planned.as_ref().map_or(written, |p| p);
                    pair.base.set_opt(w.key.clone(), base.get(&w.key));
                } else {
                    pair.base.remove(&w.key);
                }
            }
        }
    }

    /// Remembers the pair base planned after each `started` create, and the
    /// `started` updates with the base their pair was to be saved with.
    fn collect(&mut self, steps: &[JournalStep]) {
        let mut open: Option<(&JournalStep, Action)> = None;
        for step in steps {
            let Ok(action) = serde_json::from_str::<Action>(&step.action) else {
                continue;
            };
            if let Some(pair_id) = action.subject.pair_id.clone() {
                let key = (step.collection.clone(), pair_id);
                match action.kind {
                    ActionKind::Update | ActionKind::Revert
                        if step.state == StepState::Started && action.target != Target::Status =>
                    {
                        self.updates.entry(key).or_default().0.push(action.clone());
                    }
                    ActionKind::SaveBase => {
                        if let Some(entry) = self.updates.get_mut(&key) {
                            entry.1 = action.fields.clone();
                        }
                    }
                    _ => {}
                }
            }
            if action.kind == ActionKind::Create && action.target != Target::Status {
                open = (step.state == StepState::Started).then_some((step, action));
                continue;
            }
            let Some((create, written)) = open.take() else { continue };
            let same_item = create.run_id == step.run_id && create.collection == step.collection;
            let (Some(base), true, ActionKind::Pair) = (action.fields, same_item, action.kind) else {
                continue;
            };
            let (map, id) = match written.target {
                Target::Groupware => (&mut self.by_crm_id, written.subject.crm_id),
                _ => (&mut self.by_href, written.subject.href),
            };
            if let Some(id) = id {
                map.insert((step.collection.clone(), id), base);
            }
        }
    }
}

/// Closes the unfinished steps of a profile's interrupted runs; returns how
/// many, and what their creates wrote.
pub(crate) async fn close_interrupted(
    store: &RunStores,
    profile: &str,
    run_id: &str,
) -> Result<(usize, InterruptedCreates), SyncError> {
    let steps = store.sync_state().journal_unfinished(profile).await?;
    let mut creates = InterruptedCreates::default();
    creates.collect(&steps);
    let note = format!("interrupted; re-planned by run {run_id}");
    for step in &steps {
        if step.state == StepState::Started {
            record_maybe_applied(store, step, run_id).await?;
        }
        store
            .sync_state()
            .journal_mark(&step.run_id, step.step, StepState::Replanned, Some(&note))
            .await?;
    }
    for run in steps
        .iter()
        .map(|s| s.run_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
    {
        store
            .sync_state()
            .finish_run(
                run,
                crmsync_store::status::RunState::Interrupted,
                None,
                Some("the process stopped during the run"),
            )
            .await?;
    }
    // A run killed before it planned anything (or after its last step) left
    // no journal steps but its row still says `running`. The caller holds
    // the profile's lease, so no other run of it is alive: every other
    // `running` row is dead and would otherwise look busy forever.
    store
        .sync_state()
        .close_dead_runs(
            profile,
            run_id,
            &format!("the process stopped during the run; closed by run {run_id}"),
        )
        .await?;
    Ok((steps.len(), creates))
}

/// A write that was `started` may have landed before the crash, and its
/// history entry (written after the write) never was. The next pass sees its
/// effect as agreement and writes nothing, so without this entry the values it
/// overwrote would be gone without a trace (R-EDIT-3, R-EXPLAIN-1).
async fn record_maybe_applied(store: &RunStores, step: &JournalStep, run_id: &str) -> Result<(), SyncError> {
    let Ok(action) = serde_json::from_str::<Action>(&step.action) else {
        return Ok(()); // unreadable: the journal itself still holds the text
    };
    if action.target == Target::Status {
        return Ok(());
    }
    store
        .sync_state()
        .add_history(&HistoryEntry {
            profile: step.profile.clone(),
            collection: step.collection.clone(),
            crm_id: action.subject.crm_id.clone(),
            href: action.subject.href.clone(),
            run_id: Some(step.run_id.clone()),
            at: Utc::now(),
            action: format!("{} {}", action.target, action.kind.as_str()),
            rule: action.rule.as_str().to_string(),
            message: format!("{action}: interrupted, may have been applied (checked again by run {run_id})"),
            detail: Some(step.action.clone()),
        })
        .await?;
    Ok(())
}
