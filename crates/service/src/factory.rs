//! A profile's [`ConnectorSpec`] → an open connector. The kinds themselves
//! are dispatched in `crmsync-connector-registry`, the one place that knows them.

use std::sync::Arc;

use crmsync_connector::{Connector, OpenOptions, Reach, VaultHandle};
use crmsync_connector_registry::ConnectorSpec;

use crate::error::ServiceError;

/// Opens the connector of a profile. A trait so tests can hand the scheduler
/// connectors of their own.
pub trait ConnectorFactory: Send + Sync {
    /// `reach` is where the connector may connect (R-SEC-1): the catalog
    /// narrows it for the profiles of non-admin users.
    fn open(&self, profile: &str, spec: &ConnectorSpec, reach: &Reach) -> Result<Arc<dyn Connector>, ServiceError>;

    /// As `open`, with the profile's token vault for a connector signed in
    /// on a user's behalf (Graph device code, R-GRAPH-32). Factories of
    /// tests ignore it.
    fn open_with_vault(
        &self,
        profile: &str,
        spec: &ConnectorSpec,
        reach: &Reach,
        _vault: Option<VaultHandle>,
    ) -> Result<Arc<dyn Connector>, ServiceError> {
        self.open(profile, spec, reach)
    }
}

/// The connectors of this build, for the scheduler and the API: a missing
/// vdir root is an error (a missing mount must not become an empty mailbox).
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultConnectorFactory;

/// For `crmsync sync`, run by an operator: creates a missing vdir root.
#[derive(Debug, Default, Clone, Copy)]
pub struct OneShotConnectorFactory;

impl ConnectorFactory for DefaultConnectorFactory {
    fn open(&self, profile: &str, spec: &ConnectorSpec, reach: &Reach) -> Result<Arc<dyn Connector>, ServiceError> {
        self.open_with_vault(profile, spec, reach, None)
    }

    fn open_with_vault(
        &self,
        profile: &str,
        spec: &ConnectorSpec,
        reach: &Reach,
        vault: Option<VaultHandle>,
    ) -> Result<Arc<dyn Connector>, ServiceError> {
        open_with(profile, spec, reach, vault, false)
    }
}

impl ConnectorFactory for OneShotConnectorFactory {
    fn open(&self, profile: &str, spec: &ConnectorSpec, reach: &Reach) -> Result<Arc<dyn Connector>, ServiceError> {
        self.open_with_vault(profile, spec, reach, None)
    }

    fn open_with_vault(
        &self,
        profile: &str,
        spec: &ConnectorSpec,
        reach: &Reach,
        vault: Option<VaultHandle>,
    ) -> Result<Arc<dyn Connector>, ServiceError> {
        open_with(profile, spec, reach, vault, true)
    }
}

/// The two factories differ only in whether a missing vdir root is made.
fn open_with(
    profile: &str,
    spec: &ConnectorSpec,
    reach: &Reach,
    token_vault: Option<VaultHandle>,
    create_local_root: bool,
) -> Result<Arc<dyn Connector>, ServiceError> {
    spec.open(OpenOptions {
        create_local_root,
        reach: reach.clone(),
        token_vault,
    })
    .map_err(|e| open_error(profile, e))
}

/// A connector that could not be opened, as the profile's error.
pub(crate) fn open_error(profile: &str, e: crmsync_connector::OpenError) -> ServiceError {
    ServiceError::Connector {
        profile: profile.to_string(),
        message: format!("{}; {}", e.message, e.hint),
        transient: e.transient,
    }
}
