//! What every handler shares.

use crmsync_store::Store;

/// Default request body limit: room for a contact with its 4 MiB photo
/// (`MAX_PHOTO_LEN`) plus the rest of its fields, JSON-escaped.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Shared state of the HTTP API. Build it with [`AppState::new`]; fields are
/// public so that tests and the CLI can adjust them.
// Debug is safe to derive: the store's own Debug replaces the password.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Bodies larger than this are refused with 413 before they are parsed.
    pub max_body_bytes: usize,
    /// The sync profiles the `/sync` routes operate; `None`: they answer 404.
    pub profiles: Option<crate::sync::ProfileSource>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        AppState {
            store,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            profiles: None,
        }
    }

    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Serves these sync profiles on the `/sync` routes.
    pub fn with_profiles(mut self, profiles: std::sync::Arc<dyn crate::sync::ProfileDirectory>) -> Self {
        self.profiles = Some(crate::sync::ProfileSource(profiles));
        self
    }
}
