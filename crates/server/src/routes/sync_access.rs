//! Who may operate which sync profile (R-OPS-2): an admin any, a user only
//! the profiles that sync for them. Another user's profile answers exactly
//! like a missing one, so names reveal nothing (as R-API-2 does for records).

use crmsync_sync::{SyncError, SyncProfile};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store_error::from_store;
use crate::sync::{ProfileError, ProfileInfo, ProfileSource, what_to_do};

pub fn source(state: &AppState) -> Result<&ProfileSource, ApiError> {
    state.profiles.as_ref().ok_or(ApiError::NoSyncProfiles)
}

pub fn may_see(caller: &Caller, info: &ProfileInfo) -> bool {
    info.visible_to(&caller.actor())
}

/// The profiles the caller may see, by name.
pub async fn visible(state: &AppState, caller: &Caller) -> Result<Vec<ProfileInfo>, ApiError> {
    Ok(source(state)?
        .profiles()
        .await
        .map_err(directory_error)?
        .into_iter()
        .filter(|p| may_see(caller, p))
        .collect())
}

/// The named profile, when the caller may see it; 404 otherwise.
pub async fn visible_profile(state: &AppState, caller: &Caller, name: &str) -> Result<ProfileInfo, ApiError> {
    source(state)?
        .profile(name)
        .await
        .map_err(directory_error)?
        .filter(|p| may_see(caller, p))
        .ok_or(ApiError::NotFound("sync profile"))
}

/// Listing profiles failed: the database, most likely.
fn directory_error(e: ProfileError) -> ApiError {
    match e {
        ProfileError::NotFound(_) => ApiError::NotFound("sync profile"),
        ProfileError::Unavailable { .. } => ApiError::Unavailable(e.to_string()),
        ProfileError::Invalid { .. } => ApiError::Internal(e.to_string()),
    }
}

/// The profile ready to run (connector opened).
pub async fn ready(state: &AppState, info: &ProfileInfo) -> Result<SyncProfile, ApiError> {
    source(state)?.sync_profile(&info.name).await.map_err(|e| match e {
        ProfileError::NotFound(_) => ApiError::NotFound("sync profile"),
        ProfileError::Unavailable { .. } => ApiError::Groupware {
            message: e.to_string(),
            transient: true,
        },
        ProfileError::Invalid { .. } => ApiError::Groupware {
            message: e.to_string(),
            transient: false,
        },
    })
}

/// A failed run or explain as the client sees it: what failed and what to do.
pub fn from_sync(err: SyncError) -> ApiError {
    let advice = what_to_do(&err);
    match err {
        SyncError::Store(e) => from_store(e),
        SyncError::Connector(e) => ApiError::Groupware {
            transient: e.is_transient(),
            message: format!("groupware: {e}; {advice}"),
        },
        SyncError::Profile { message, .. } => ApiError::Unprocessable {
            field: "profile".into(),
            message: format!("{message}; {advice}"),
        },
        other => ApiError::Internal(other.to_string()),
    }
}
