//! The database's profiles (the service's [`ProfileCatalog`]) as the `/sync`
//! routes' [`ProfileDirectory`]: profiles created over the API and those the
//! config file imported at start, read fresh on every request.

use std::sync::Arc;

use crmsync_service::{ConnectorFactory, ProfileCatalog, ServiceError};
use crmsync_sync::SyncProfile;

use super::directory::{ProfileDirectory, ProfileError, ProfileInfo};

pub struct CatalogDirectory {
    catalog: ProfileCatalog,
    factory: Arc<dyn ConnectorFactory>,
}

impl CatalogDirectory {
    pub fn new(catalog: ProfileCatalog, factory: Arc<dyn ConnectorFactory>) -> Self {
        CatalogDirectory { catalog, factory }
    }
}

/// Service errors carry no credentials (R-SVC-7), so their text may reach clients.
fn profile_error(name: &str, e: ServiceError) -> ProfileError {
    match e {
        ServiceError::ProfileNotFound(n) => ProfileError::NotFound(n),
        e if e.is_transient() => ProfileError::Unavailable {
            name: name.to_string(),
            message: e.to_string(),
        },
        e => ProfileError::Invalid {
            name: name.to_string(),
            message: e.to_string(),
        },
    }
}

#[async_trait::async_trait]
impl ProfileDirectory for CatalogDirectory {
    async fn profiles(&self) -> Result<Vec<ProfileInfo>, ProfileError> {
        let rows = self
            .catalog
            .store()
            .catalog()
            .profile_schedules(None)
            .await
            .map_err(|e| profile_error("*", e.into()))?;
        Ok(rows
            .into_iter()
            .map(|r| ProfileInfo {
                name: r.name,
                user_id: r.user_id,
            })
            .collect())
    }

    async fn profile(&self, name: &str) -> Result<Option<ProfileInfo>, ProfileError> {
        let row = self
            .catalog
            .store()
            .catalog()
            .profile_schedule(name)
            .await
            .map_err(|e| profile_error(name, e.into()))?;
        Ok(row.map(|r| ProfileInfo {
            name: r.name,
            user_id: r.user_id,
        }))
    }

    async fn sync_profile(&self, name: &str) -> Result<SyncProfile, ProfileError> {
        self.catalog
            .ready_profile_named(&*self.factory, name)
            .await
            .map_err(|e| profile_error(name, e))
    }
}
