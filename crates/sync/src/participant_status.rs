//! R-CAL-3-STATUS: the profile of a participant's user tells the CRM where
//! that user's copy of each appointment stands. `sent` when this run created
//! it in the user's calendar; `synchronized` when a later run (or a pairing
//! with an item already there) finds its pair live; no status once the pair
//! is gone. The rows live beside the activity (`sync_participant_status`),
//! so writing them neither bumps the activity's version nor enters the
//! change log that would wake every participant's profile again.

use std::collections::{BTreeSet, HashSet};

use crmsync_engine::{ActionKind, EntityClass, PairState, Plan, Target};
use crmsync_model::ParticipantSyncStatus;
use crmsync_store::SyncState;

use crate::compact_ids::{CompactIds, store_uuid};
use crate::error::SyncError;
use crate::profile::SyncProfile;

/// The CRM records a run created in the user's calendar, held for the whole
/// collection: a CRM id the store made (a UUID) as its 16 bytes, about 20
/// bytes an appointment instead of about 85 as text (R-SCALE-10); any other
/// id as text. Exact either way: no two ids share an entry.
#[derive(Debug, Default)]
pub(crate) struct CreatedIds {
    uuids: HashSet<u128>,
    other: BTreeSet<String>,
}

impl CreatedIds {
    pub(crate) fn insert(&mut self, id: String) {
        match store_uuid(&id) {
            Some(u) => {
                self.uuids.insert(u);
            }
            None => {
                self.other.insert(id);
            }
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        match store_uuid(id) {
            Some(u) => self.uuids.contains(&u),
            None => self.other.contains(id),
        }
    }
}

impl Extend<String> for CreatedIds {
    fn extend<I: IntoIterator<Item = String>>(&mut self, ids: I) {
        for id in ids {
            self.insert(id);
        }
    }
}

/// The CRM records a plan created in the groupware calendar.
pub(crate) fn created_in_calendar(class: EntityClass, plan: &Plan) -> impl Iterator<Item = String> + '_ {
    plan.actions
        .iter()
        .filter(move |a| class == EntityClass::Events && a.target == Target::Groupware && a.kind == ActionKind::Create)
        .filter_map(|a| a.subject.crm_id.clone())
}

/// After a collection's passes: brings the profile's rows in line with its
/// live pairs, writing only what changed.
pub(crate) async fn after_collection(
    sync_state: &SyncState,
    profile: &SyncProfile,
    class: EntityClass,
    collection: &str,
    created: &CreatedIds,
) -> Result<(), SyncError> {
    if class != EntityClass::Events {
        return Ok(());
    }
    // Keys only: the pairs' bases and bodies are not needed here
    // (R-SYNC-STREAM-2); and of the keys only the live pairs' CRM ids, kept
    // compact as they stream in (R-SCALE-10).
    let mut live = CompactIds::default();
    sync_state
        .for_each_pair_key(&profile.name, collection, |p| {
            if p.state == PairState::Live {
                live.push(&p.crm_id);
            }
        })
        .await?;
    live.seal();
    // What is left of it once the live ones are taken out is no longer live.
    let mut written = sync_state.participant_statuses(&profile.name).await?;
    // Written a batch at a time, so a first sync holds one batch's ids as
    // text, not every appointment's. Each batch is its own transaction: the
    // rows are derived from the live pairs, so a run cut short between two
    // batches leaves the rest to the next run. That run does not know which
    // appointments the cut run created (`CreatedIds` is not persisted), so
    // it writes `synchronized` for them where `sent` was due: what
    // R-CAL-3-STATUS has a later run write for a confirmed pair.
    for batch in live.batches(STATUS_BATCH) {
        let changes: Vec<(String, Option<ParticipantSyncStatus>)> = batch
            .into_iter()
            .filter_map(|id| {
                let wanted = if created.contains(&id) {
                    ParticipantSyncStatus::Sent
                } else {
                    ParticipantSyncStatus::Synchronized
                };
                (written.remove(&id) != Some(wanted)).then_some((id, Some(wanted)))
            })
            .collect();
        sync_state
            .set_participant_statuses(&profile.name, &profile.actor.user_id, &changes)
            .await?;
    }
    let gone: Vec<(String, Option<ParticipantSyncStatus>)> = written.into_keys().map(|id| (id, None)).collect();
    for batch in gone.chunks(STATUS_BATCH) {
        sync_state
            .set_participant_statuses(&profile.name, &profile.actor.user_id, batch)
            .await?;
    }
    Ok(())
}

/// How many participant statuses one transaction writes.
const STATUS_BATCH: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::CreatedIds;

    /// R-SCALE-10: the compact set answers exactly as a set of the ids as
    /// text would: another spelling of a UUID is another id.
    #[test]
    fn r_scale_10_created_ids_answer_as_the_ids_as_text() {
        let mut created = CreatedIds::default();
        created.extend([
            "0b6f2a52-3c1e-4a8e-9a53-8f7c2d1e4b60".to_string(),
            "not-a-uuid".to_string(),
        ]);
        assert!(created.contains("0b6f2a52-3c1e-4a8e-9a53-8f7c2d1e4b60"));
        assert!(created.contains("not-a-uuid"));
        assert!(!created.contains("0B6F2A52-3C1E-4A8E-9A53-8F7C2D1E4B60"));
        assert!(!created.contains("0b6f2a523c1e4a8e9a538f7c2d1e4b60"));
        assert!(!created.contains("0b6f2a52-3c1e-4a8e-9a53-8f7c2d1e4b61"));
        assert!(!created.contains("not-a-uuid-either"));
        assert_eq!((created.uuids.len(), created.other.len()), (1, 1));
    }
}
