use crmsync_connector::ConnectorError;
use crmsync_mapping::MappingError;
use crmsync_store::StoreError;

/// What stops a run. Item-level problems (a malformed card, a 412) do not:
/// they are quarantined or re-planned and the run goes on.
///
/// A variant quotes its cause in its message and so exposes no `source()`:
/// anyhow's `{:#}` would print the cause's text a second time.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("groupware: {0}")]
    Connector(ConnectorError),
    #[error("CRM store: {0}")]
    Store(StoreError),
    #[error("cannot write item: {0}")]
    Mapping(MappingError),
    #[error("profile {profile}: {message}")]
    Profile { profile: String, message: String },
    /// A fault injected by a test (crash simulation); never in production.
    #[error("injected crash at step {step}")]
    InjectedCrash { step: usize },
}

impl From<ConnectorError> for SyncError {
    fn from(e: ConnectorError) -> Self {
        SyncError::Connector(e)
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e)
    }
}

impl From<MappingError> for SyncError {
    fn from(e: MappingError) -> Self {
        SyncError::Mapping(e)
    }
}

impl SyncError {
    /// True when running the profile again later, unchanged, may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Connector(e) => e.is_transient(),
            SyncError::Store(e) => e.is_transient(),
            SyncError::InjectedCrash { .. } => true,
            SyncError::Mapping(_) | SyncError::Profile { .. } => false,
        }
    }
}
