//! The one profile factory: a profile definition and its CRM user → a
//! runnable [`SyncProfile`]. `crmsync sync`, the API's runs and the scheduler
//! all build profiles here, so the rights limitation (R-PERM-1: a profile
//! never does more than its CRM user may) holds on every path.

use crmsync_model::{Actor, User};
use crmsync_sync::SyncProfile;

use crate::definition::ProfileDefinition;
use crate::error::ServiceError;
use crate::factory::ConnectorFactory;

/// Narrows the rules to the user's rights as of now and refuses a direction
/// the user may not write (R-PERM-1), then opens the connector.
pub fn build_sync_profile(
    def: &ProfileDefinition,
    user: &User,
    factory: &dyn ConnectorFactory,
) -> Result<SyncProfile, ServiceError> {
    let rules = def.engine_rules(user)?;
    let connector = factory.open(&def.name, &def.connector)?;
    let actor = Actor {
        user_id: user.meta.id.clone(),
        role: user.fields.role,
    };
    // R-SYNC-PERF-2: a DAV profile's `concurrency` (R-CFG-DAV-1) sets the writes in flight.
    let writes = crmsync_sync::write_concurrency_for(def.connector.requests_in_flight());
    Ok(SyncProfile::new(def.name.clone(), actor, rules, connector).with_write_concurrency(writes))
}
