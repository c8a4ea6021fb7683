//! Server mode from the configuration: import the file's profiles, then a
//! scheduler with the production clock and connectors.

use std::path::Path;
use std::sync::Arc;

use crmsync_config::Config;
use crmsync_store::Store;

use crate::catalog::ProfileCatalog;
use crate::clock::{Clock, SystemClock};
use crate::error::ServiceError;
use crate::factory::DefaultConnectorFactory;
use crate::metrics::Metrics;
use crate::push_subscriptions::SubscriptionSettings;
use crate::scheduler::{Scheduler, SchedulerParts, SchedulerSettings};

/// Imports `config`'s profiles (the file wins for its names) and builds a
/// scheduler for this process. `base_dir` resolves relative vdir roots.
pub async fn scheduler_from_config(
    store: Store,
    config: &Config,
    base_dir: &Path,
    metrics: Metrics,
) -> Result<Scheduler, ServiceError> {
    let settings = SchedulerSettings {
        subscriptions: SubscriptionSettings::with_public_url(&config.server.public_url),
        ..SchedulerSettings::from_config(&config.scheduler)?
    };
    let catalog = ProfileCatalog::from_config(store, config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    for (name, outcome) in catalog.import_config(config, base_dir, clock.now()).await? {
        tracing::info!(profile = %name, ?outcome, "profile from the configuration file");
    }
    catalog.warn_if_keyless().await?;
    Scheduler::new(SchedulerParts {
        catalog,
        factory: Arc::new(DefaultConnectorFactory),
        clock,
        metrics,
        settings,
    })
    .await
}
