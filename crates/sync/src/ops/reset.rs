use chrono::Utc;
use crmsync_engine::{PairState, RuleId};
use crmsync_store::status::{HistoryEntry, PairRow, TextColumn};
use crmsync_store::{StoreError, SyncState};
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

impl ResetScope {
    fn covers(&self, pair: &PairRow) -> bool {
        self.collection.as_ref().is_none_or(|c| *c == pair.collection)
            && self.record_id.as_ref().is_none_or(|id| *id == pair.crm_id)
    }
}

/// Forgets the pairs in `scope` and the cursors they depend on; returns how
/// many pairs went. A removed-by-user pair (R-DEL-2) comes back this way, and
/// the record's history says so, whichever way the reset came (CLI, API,
/// dashboard): R-DEL-2-HISTORY.
pub async fn reset(state: &SyncState, profile: &str, scope: &ResetScope) -> Result<u64, SyncError> {
    Ok(forget_pairs(state, profile, scope).await?)
}

/// [`reset`] for callers that speak the store's errors (the operator layer's
/// restore).
pub async fn forget_pairs(state: &SyncState, profile: &str, scope: &ResetScope) -> Result<u64, StoreError> {
    // Only the removed-by-user pairs get a line: they are the records whose
    // fate the reset changes (their item is created again). The others are
    // re-paired as they were, and a whole-mailbox reset would otherwise
    // write a line per record.
    let restored: Vec<HistoryEntry> = state
        .pairs_in_state(profile, PairState::RemovedByUser.as_text())
        .await?
        .iter()
        .filter(|p| scope.covers(p))
        .map(|p| restored_line(profile, p))
        .collect();
    state
        .reset_pairs_noting(
            profile,
            scope.collection.as_deref(),
            scope.record_id.as_deref(),
            &restored,
        )
        .await
}

fn restored_line(profile: &str, pair: &PairRow) -> HistoryEntry {
    HistoryEntry {
        profile: profile.to_string(),
        collection: pair.collection.clone(),
        crm_id: Some(pair.crm_id.clone()),
        href: Some(pair.href.clone()),
        run_id: None,
        at: Utc::now(),
        action: "status restore".into(),
        rule: RuleId::Del2.as_str().to_string(),
        message: format!(
            "restored by choice (R-DEL-2): the item {} the user removed is created again by the next sync; the CRM \
             record is not changed",
            pair.href
        ),
        detail: None,
    }
}
