//! Records a user removed from the groupware that stay in the CRM (R-DEL-1),
//! as `status` lists them, each with the command that brings it back
//! (R-DEL-2: a record reset, which re-creates the item without touching the
//! CRM record).

use chrono::{DateTime, Utc};
use crmsync_store::{StoreError, SyncState};
use serde::Serialize;
use utoipa::ToSchema;

/// The pair state the runner stores for R-DEL-1 (`PairState::RemovedByUser`).
const REMOVED_BY_USER: &str = "removed_by_user";

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
        .pairs_in_state(profile, REMOVED_BY_USER)
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
