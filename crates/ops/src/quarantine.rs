//! Retrying quarantined items (R-WEB-14): the runner keeps an unchanged
//! quarantined item's verdict without reading it again (R-SAFE-4), which is
//! right for a malformed item but wrong once the cause is gone without the
//! item changing (a read that failed for a passing reason, a copy whose twin
//! took another UID, a crmsync that now reads it). A retry marks the items
//! so the next run reads them again, and records it in the history.

use chrono::Utc;
use crmsync_engine::RuleId;
use crmsync_store::status::{HistoryEntry, QuarantineRow};
use crmsync_store::{StoreError, SyncState};
use serde::Serialize;
use utoipa::ToSchema;

/// One quarantined item (`collection`, `href`), or every one of the profile.
#[derive(Debug, Clone, Copy)]
pub enum RetryScope<'a> {
    Item { collection: &'a str, href: &'a str },
    All,
}

/// What a retry marked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetryReport {
    pub profile: String,
    /// The items the next run reads again: `collection/href`.
    pub items: Vec<String>,
    pub next: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("profile {profile} has no quarantined item {what}: nothing to retry")]
    NotQuarantined { profile: String, what: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// R-WEB-14: the next run of `profile` reads the scope's quarantined items
/// again although they did not change; each is noted in its history
/// (action `status retry`, rule R-SAFE-4). Retrying an item already waiting
/// for its retry changes nothing. Every quarantined item of a profile with
/// none is fine (nothing marked); one named item that is not quarantined is
/// [`RetryError::NotQuarantined`].
pub async fn retry_quarantined(
    state: &SyncState,
    profile: &str,
    scope: RetryScope<'_>,
) -> Result<RetryReport, RetryError> {
    let item = match scope {
        RetryScope::Item { collection, href } => Some((collection, href)),
        RetryScope::All => None,
    };
    let rows = state.retry_quarantined(profile, item, retry_line).await?;
    if let (Some((collection, href)), true) = (item, rows.is_empty()) {
        return Err(RetryError::NotQuarantined {
            profile: profile.to_string(),
            what: format!("{collection}/{href}"),
        });
    }
    Ok(RetryReport {
        profile: profile.to_string(),
        items: rows.iter().map(|r| format!("{}/{}", r.collection, r.href)).collect(),
        next: "the next run reads these items again; one that still cannot be read stays quarantined with the new \
               error"
            .into(),
    })
}

fn retry_line(row: &QuarantineRow) -> HistoryEntry {
    HistoryEntry {
        profile: row.profile.clone(),
        collection: row.collection.clone(),
        crm_id: None,
        href: Some(row.href.clone()),
        run_id: None,
        at: Utc::now(),
        action: "status retry".into(),
        rule: RuleId::Safe4.as_str().to_string(),
        message: format!(
            "retry by choice (R-WEB-14): the next run reads the quarantined item {} again although it did not \
             change (it was quarantined for: {})",
            row.href, row.error
        ),
        detail: None,
    }
}
