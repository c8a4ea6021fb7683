use crmsync_store::SyncState;
use serde::Serialize;

use crate::error::SyncError;

/// What a reset forgets (R-RESET-1). Data is never touched: only pairs and
/// cursors go, and the next sync re-pairs by identity and R-PAIR-1 instead of
/// duplicating.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResetScope {
    /// One collection (`contacts`, `calendar`, `tasks`); `None` = all.
    pub collection: Option<String>,
    /// One CRM record; `None` = all.
    pub record_id: Option<String>,
}

/// Forgets the pairs in `scope` and the cursors they depend on; returns how
/// many pairs went. A removed-by-user pair (R-DEL-2) comes back this way.
pub async fn reset(state: &SyncState, profile: &str, scope: &ResetScope) -> Result<u64, SyncError> {
    Ok(state
        .reset_pairs(profile, scope.collection.as_deref(), scope.record_id.as_deref())
        .await?)
}
