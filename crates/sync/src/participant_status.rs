//! R-CAL-3: each participant's sync status, as the CRM shows it. The profile
//! of a participant writes it for its own user: `sent` once a run created the
//! appointment in the user's calendar, `synchronized` when a later run reads
//! the record with its pair live (R-CAL-3-STATUS in docs/RULES.md).
//!
//! `sent` is written when the run's passes are over, after the cursor was
//! taken: that write is then in the change log the next run reads, which
//! brings the record back to confirm it.

use std::collections::{BTreeSet, HashMap};

use crmsync_engine::{ActionKind, EntityClass, PairState, Plan, Target};
use crmsync_model::{ActivityFields, ParticipantSyncStatus};
use crmsync_store::status::PairRow;
use crmsync_store::{Store, StoreError};

use crate::error::SyncError;
use crate::pair_codec::name_of;
use crate::profile::SyncProfile;

fn live_records(pairs: &HashMap<String, PairRow>) -> BTreeSet<&str> {
    let live = name_of(&PairState::Live);
    pairs
        .values()
        .filter(|p| p.state == live)
        .map(|p| p.crm_id.as_str())
        .collect()
}

/// After a pass: remembers the appointments it created in the calendar
/// (paired, so confirmed by the server) and confirms the ones it read that
/// an earlier run created.
pub(crate) async fn after_pass(
    store: &Store,
    profile: &SyncProfile,
    class: EntityClass,
    plan: &Plan,
    pairs: &HashMap<String, PairRow>,
    loaded: impl Iterator<Item = &String>,
    created: &mut BTreeSet<String>,
) -> Result<(), SyncError> {
    if class != EntityClass::Events {
        return Ok(());
    }
    let live = live_records(pairs);
    created.extend(
        plan.actions
            .iter()
            .filter(|a| a.target == Target::Groupware && a.kind == ActionKind::Create)
            .filter_map(|a| a.subject.crm_id.clone())
            .filter(|id| live.contains(id.as_str())),
    );
    let confirmed: Vec<String> = loaded
        .filter(|id| live.contains(id.as_str()) && !created.contains(*id))
        .cloned()
        .collect();
    for id in confirmed {
        set(store, profile, &id, ParticipantSyncStatus::Synchronized).await?;
    }
    Ok(())
}

/// After the run's last pass: the appointments it created are `sent`.
pub(crate) async fn after_run(
    store: &Store,
    profile: &SyncProfile,
    created: &BTreeSet<String>,
) -> Result<(), SyncError> {
    for id in created {
        set(store, profile, id, ParticipantSyncStatus::Sent).await?;
    }
    Ok(())
}

/// Sets the profile user's status on one appointment, if they are an
/// invited participant and it differs. Another participant's profile may
/// write its own status at the same moment: a version conflict reads the
/// record again; a record still moving after that is left to the next run,
/// which its change brings in.
async fn set(store: &Store, profile: &SyncProfile, id: &str, wanted: ParticipantSyncStatus) -> Result<(), SyncError> {
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        let record = match store.get::<ActivityFields>(id).await {
            Ok(r) => r,
            Err(StoreError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let user = &profile.actor.user_id;
        let mut fields = record.fields.clone();
        let Some(me) = fields
            .participants
            .iter_mut()
            .find(|p| p.invite && p.is_user(user) && p.sync_status != wanted)
        else {
            return Ok(());
        };
        me.sync_status = wanted;
        match store.update(id, record.version(), fields).await {
            Err(StoreError::VersionConflict { .. }) => continue,
            Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Validation(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
