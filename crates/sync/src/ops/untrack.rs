//! R-DEL-13: stop tracking a record. The pair is unlinked (both sides keep
//! what they have and nothing syncs until a reset), and the CRM record is
//! deleted too only when the caller asks and the profile's user owns it.

use chrono::Utc;
use crmsync_engine::{PairState, RuleId};
use crmsync_model::{ActivityFields, ContactFields};
use crmsync_store::status::HistoryEntry;
use crmsync_store::{Entity, StoreError};
use serde::Serialize;

use crate::error::SyncError;
use crate::stores::RunStores;

/// Why a record could not be untracked.
#[derive(Debug, thiserror::Error)]
pub enum UntrackError {
    #[error("profile {profile} does not track record {record_id}: nothing to stop")]
    NotTracked { profile: String, record_id: String },
    #[error(
        "only the owner of CRM record {record_id} may delete it while untracking (R-DEL-13); untrack it \
         keeping the record, or ask its owner"
    )]
    NotOwner { record_id: String },
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<StoreError> for UntrackError {
    fn from(e: StoreError) -> Self {
        UntrackError::Sync(SyncError::Store(e))
    }
}

/// What untracking did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UntrackReport {
    pub profile: String,
    pub record_id: String,
    pub collection: String,
    /// The groupware item, which stays where it is.
    pub href: String,
    /// Whether the CRM record was deleted as well.
    pub deleted_in_crm: bool,
}

/// Stops tracking `record_id` in `profile` (whose CRM user is `user_id`).
/// The pair is unlinked before the record is deleted, so a failed delete
/// (the record changed meanwhile) leaves it untracked and kept, never synced
/// back half-way.
pub async fn stop_tracking(
    store: impl Into<RunStores>,
    profile: &str,
    user_id: &str,
    record_id: &str,
    delete_in_crm: bool,
) -> Result<UntrackReport, UntrackError> {
    let store = &store.into();
    let Some(mut pair) = store
        .sync_state()
        .pairs_of_record(profile, record_id)
        .await?
        .into_iter()
        .next()
    else {
        return Err(UntrackError::NotTracked {
            profile: profile.to_string(),
            record_id: record_id.to_string(),
        });
    };
    let contact = pair.collection == crate::profile::collection_name(crmsync_engine::EntityClass::Contacts);
    let owner_version = if delete_in_crm {
        let meta = if contact {
            meta_of::<ContactFields>(store, record_id).await?
        } else {
            meta_of::<ActivityFields>(store, record_id).await?
        };
        match meta {
            Some((owner, _)) if owner != user_id => {
                return Err(UntrackError::NotOwner {
                    record_id: record_id.to_string(),
                });
            }
            other => other.map(|(_, version)| version),
        }
    } else {
        None
    };

    pair.state = PairState::Unlinked;
    pair.updated_at = Utc::now();
    store.sync_state().save_pair(&pair).await?;
    if let Some(version) = owner_version {
        if contact {
            store
                .records()
                .delete::<ContactFields>(record_id, Some(version))
                .await?;
        } else {
            store
                .records()
                .delete::<ActivityFields>(record_id, Some(version))
                .await?;
        }
    }
    let deleted_in_crm = owner_version.is_some();
    store
        .sync_state()
        .add_history(&HistoryEntry {
            profile: profile.to_string(),
            collection: pair.collection.clone(),
            crm_id: Some(record_id.to_string()),
            href: Some(pair.href.clone()),
            run_id: None,
            at: Utc::now(),
            action: if deleted_in_crm { "crm delete" } else { "status unlink" }.into(),
            rule: RuleId::Del13.as_str().into(),
            message: if deleted_in_crm {
                "untracked by its owner, who chose to delete the CRM record; the groupware item stays".into()
            } else {
                "untracked: the CRM record and the groupware item stay, nothing syncs until a reset".into()
            },
            detail: None,
        })
        .await?;
    Ok(UntrackReport {
        profile: profile.to_string(),
        record_id: record_id.to_string(),
        collection: pair.collection,
        href: pair.href,
        deleted_in_crm,
    })
}

/// The record's owner and version; `None` when it is gone already.
async fn meta_of<F: Entity>(store: &RunStores, id: &str) -> Result<Option<(String, i64)>, StoreError> {
    match store.records().get::<F>(id).await {
        Ok(r) => Ok(Some((r.meta.owner_id, r.meta.version))),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
