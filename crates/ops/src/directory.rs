//! Where the API finds sync profiles. The server does not read the
//! configuration file or the profile table itself: whoever starts it (the CLI
//! from the config file, the service from the database) hands it a
//! [`ProfileDirectory`].

use std::fmt;
use std::sync::Arc;

use crmsync_sync::SyncProfile;
use serde::Serialize;
use utoipa::ToSchema;

/// What the API may show about a profile without opening its connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProfileInfo {
    pub name: String,
    /// The CRM user the profile syncs for: that user may see and operate it.
    pub user_id: String,
}

impl ProfileInfo {
    /// R-OPS-2: an admin may see and operate any profile, a user only the
    /// profiles that sync for them. The API and the dashboard both ask this.
    pub fn visible_to(&self, actor: &crmsync_model::Actor) -> bool {
        actor.is_admin() || self.user_id == actor.user_id
    }
}

/// Why a profile could not be made ready to run.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No profile of that name: check the name (`crmsync status` lists them).
    #[error("no sync profile named `{0}`")]
    NotFound(String),
    /// Building it failed for a reason that may pass (database busy, a
    /// folder on a network share not mounted yet): retry later.
    #[error("profile `{name}` is not available right now: {message}")]
    Unavailable { name: String, message: String },
    /// Its settings are wrong: an administrator must fix the profile.
    #[error("profile `{name}` is misconfigured: {message}")]
    Invalid { name: String, message: String },
}

impl ProfileError {
    /// True when asking again later, unchanged, may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProfileError::Unavailable { .. })
    }
}

/// The profiles a server serves. Async and fallible: a directory may read
/// the database on every call, so API edits show at once.
#[async_trait::async_trait]
pub trait ProfileDirectory: Send + Sync {
    /// Every profile, by name.
    async fn profiles(&self) -> Result<Vec<ProfileInfo>, ProfileError>;

    /// The profile ready to run (its connector opened). Implementations must
    /// not put credentials into error messages: they reach API clients.
    async fn sync_profile(&self, name: &str) -> Result<SyncProfile, ProfileError>;

    /// One profile's info, when it exists.
    async fn profile(&self, name: &str) -> Result<Option<ProfileInfo>, ProfileError> {
        Ok(self.profiles().await?.into_iter().find(|p| p.name == name))
    }
}

/// A shared [`ProfileDirectory`] as `AppState` holds it. Its own `Debug`
/// prints nothing of it: a directory may hold connector credentials.
#[derive(Clone)]
pub struct ProfileSource(pub Arc<dyn ProfileDirectory>);

impl fmt::Debug for ProfileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProfileSource").finish_non_exhaustive()
    }
}

impl std::ops::Deref for ProfileSource {
    type Target = dyn ProfileDirectory;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
