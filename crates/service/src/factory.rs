//! A profile's [`ConnectorSpec`] → an open connector. The kinds themselves
//! are dispatched in `crmsync-connector-registry`, the one place that knows them.

use std::sync::Arc;

use crmsync_connector::{Connector, OpenOptions};
use crmsync_connector_registry::ConnectorSpec;

use crate::error::ServiceError;

/// Opens the connector of a profile. A trait so tests can hand the scheduler
/// connectors of their own.
pub trait ConnectorFactory: Send + Sync {
    fn open(&self, profile: &str, spec: &ConnectorSpec) -> Result<Arc<dyn Connector>, ServiceError>;
}

/// The connectors of this build, for the scheduler and the API: a missing
/// vdir root is an error (a missing mount must not become an empty mailbox).
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultConnectorFactory;

/// For `crmsync sync`, run by an operator: creates a missing vdir root.
#[derive(Debug, Default, Clone, Copy)]
pub struct OneShotConnectorFactory;

impl ConnectorFactory for DefaultConnectorFactory {
    fn open(&self, profile: &str, spec: &ConnectorSpec) -> Result<Arc<dyn Connector>, ServiceError> {
        open_with(profile, spec, OpenOptions::default())
    }
}

impl ConnectorFactory for OneShotConnectorFactory {
    fn open(&self, profile: &str, spec: &ConnectorSpec) -> Result<Arc<dyn Connector>, ServiceError> {
        open_with(
            profile,
            spec,
            OpenOptions {
                create_local_root: true,
            },
        )
    }
}

fn open_with(profile: &str, spec: &ConnectorSpec, options: OpenOptions) -> Result<Arc<dyn Connector>, ServiceError> {
    spec.open(options).map_err(|e| ServiceError::Connector {
        profile: profile.to_string(),
        message: format!("{}; {}", e.message, e.hint),
        transient: e.transient,
    })
}
