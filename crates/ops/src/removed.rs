//! Records a user removed from the groupware that stay in the CRM (R-DEL-1),
//! as `status` lists them, each with the command that brings it back
//! (R-DEL-2: a record reset, which re-creates the item without touching the
//! CRM record).

use chrono::{DateTime, Utc};
use crmsync_engine::PairState;
use crmsync_store::status::TextColumn;
use crmsync_store::{StoreError, SyncState};
use serde::Serialize;
use utoipa::ToSchema;

/// One record removed from the groupware by the user and kept in the CRM.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedByUser {
    pub collection: String,
    pub record_id: String,
    /// The groupware item the user removed.
    pub href: String,
    /// When sync noticed the removal.
    pub since: DateTime<Utc>,
    /// The command that brings it back into the groupware (R-DEL-2). Over
    /// the API: `POST /api/v1/sync/profiles/{name}/reset` with this `record_id`.
    pub restore: String,
}

/// The profile's removed-by-user records, by collection and record id.
pub async fn removed_by_user(state: &SyncState, profile: &str) -> Result<Vec<RemovedByUser>, StoreError> {
    Ok(state
        .pairs_in_state(profile, PairState::RemovedByUser.as_text())
        .await?
        .into_iter()
        .map(|p| RemovedByUser {
            restore: restore_command(profile, &p.crm_id),
            collection: p.collection,
            record_id: p.crm_id,
            href: p.href,
            since: p.updated_at,
        })
        .collect())
}

fn restore_command(profile: &str, record_id: &str) -> String {
    format!("crmsync reset --profile {profile} --record {record_id}")
}

/// Why a removed record could not be brought back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Retrying does not help: the record is synced normally, or not at all.
    #[error(
        "record {record_id} is not removed by the user in profile {profile}: nothing to bring back (it syncs \
         normally, or the profile never saw it)"
    )]
    NotRemoved { profile: String, record_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// R-DEL-2: brings a removed-by-user record back into the groupware: its
/// pair is forgotten (the record reset `restore` names), so the next sync
/// re-creates the item without touching the CRM record; the choice is
/// recorded in the history (R-WEB-7).
pub async fn restore(
    state: &SyncState,
    profile: &str,
    record_id: &str,
) -> Result<crate::reset::ResetReport, RestoreError> {
    let removed: Vec<_> = state
        .pairs_of_record(profile, record_id)
        .await?
        .into_iter()
        .filter(|p| p.state == PairState::RemovedByUser)
        .collect();
    if removed.is_empty() {
        return Err(RestoreError::NotRemoved {
            profile: profile.to_string(),
            record_id: record_id.to_string(),
        });
    }
    // Per collection the record was removed from, so only those cursors go
    // (a record scope without a collection would forget every cursor of the
    // profile). The reset writes the R-DEL-2 history line with the forgetting.
    let mut forgotten = 0;
    for pair in &removed {
        let scope = crate::ResetScope {
            collection: Some(pair.collection.clone()),
            record_id: Some(record_id.to_string()),
        };
        forgotten += crmsync_sync::ops::forget_pairs(state, profile, &scope).await?;
    }
    let collection = (removed.len() == 1).then(|| removed[0].collection.clone());
    Ok(crate::reset::ResetReport::new(
        profile,
        collection,
        Some(record_id.to_string()),
        forgotten,
    ))
}
