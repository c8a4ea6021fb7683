//! R-CAL-3-STATUS: the profile of a participant's user tells the CRM where
//! that user's copy of each appointment stands. `sent` when this run created
//! it in the user's calendar; `synchronized` when a later run (or a pairing
//! with an item already there) finds its pair live; no status once the pair
//! is gone. The rows live beside the activity (`sync_participant_status`),
//! so writing them neither bumps the activity's version nor enters the
//! change log that would wake every participant's profile again.

use std::collections::BTreeSet;

use crmsync_engine::{ActionKind, EntityClass, PairState, Plan, Target};
use crmsync_model::ParticipantSyncStatus;
use crmsync_store::SyncState;

use crate::error::SyncError;
use crate::profile::SyncProfile;

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
    created: &BTreeSet<String>,
) -> Result<(), SyncError> {
    if class != EntityClass::Events {
        return Ok(());
    }
    // Keys only: the pairs' bases and bodies are not needed here (R-SYNC-STREAM-2).
    let live: BTreeSet<String> = sync_state
        .pair_keys(&profile.name, collection)
        .await?
        .into_iter()
        .filter(|p| p.state == PairState::Live)
        .map(|p| p.crm_id)
        .collect();
    let written = sync_state.participant_statuses(&profile.name).await?;
    let mut changes: Vec<(String, Option<ParticipantSyncStatus>)> = written
        .keys()
        .filter(|id| !live.contains(*id))
        .map(|id| (id.clone(), None))
        .collect();
    for id in live {
        let wanted = if created.contains(&id) {
            ParticipantSyncStatus::Sent
        } else {
            ParticipantSyncStatus::Synchronized
        };
        if written.get(&id) != Some(&wanted) {
            changes.push((id, Some(wanted)));
        }
    }
    sync_state
        .set_participant_statuses(&profile.name, &profile.actor.user_id, &changes)
        .await?;
    Ok(())
}
