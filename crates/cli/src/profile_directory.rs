//! The configuration file's profiles as the API server's
//! [`ProfileDirectory`]: `crmsync serve` hands this to the server so the
//! `/sync` routes can run, explain and reset them.

use crmsync_server::sync::{ProfileDirectory, ProfileError, ProfileInfo};
use crmsync_store::Store;
use crmsync_sync::SyncProfile;

use crate::context::Context;
use crate::profiles::{build_one, find_user};

pub struct ConfigProfiles {
    ctx: Context,
    store: Store,
    /// Resolved once at start: profile name → CRM user id.
    infos: Vec<ProfileInfo>,
}

impl ConfigProfiles {
    /// Resolves every profile's user. A profile whose user does not exist is
    /// left out with a warning: the server still serves the others.
    pub async fn load(ctx: &Context, store: &Store) -> ConfigProfiles {
        let mut infos = Vec::new();
        for p in &ctx.config.profiles {
            match find_user(store, &p.user).await {
                Ok(user) => infos.push(ProfileInfo {
                    name: p.name.clone(),
                    user_id: user.meta.id,
                }),
                Err(e) => tracing::warn!(profile = %p.name, error = %e, "profile left out of the API"),
            }
        }
        ConfigProfiles {
            ctx: ctx.clone(),
            store: store.clone(),
            infos,
        }
    }
}

#[async_trait::async_trait]
impl ProfileDirectory for ConfigProfiles {
    fn profiles(&self) -> Vec<ProfileInfo> {
        self.infos.clone()
    }

    async fn sync_profile(&self, name: &str) -> Result<SyncProfile, ProfileError> {
        let Some(config) = self.ctx.config.profiles.iter().find(|p| p.name == name) else {
            return Err(ProfileError::NotFound(name.to_string()));
        };
        build_one(&self.ctx, &self.store, config)
            .await
            .map_err(|e| ProfileError::Invalid {
                name: name.to_string(),
                message: format!("{e:#}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_model::{Role, UserFields};

    // R-OPS-1/2: `serve` hands the API the configured profiles with their
    // users' ids; a profile whose user is missing is left out, not fatal.
    #[tokio::test]
    async fn config_profiles_resolve_users_and_open_connectors() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("crmsync.toml");
        std::fs::write(
            &config,
            "[database]\nurl = \"sqlite://crm.db\"\n\n\
             [[profile]]\nname = \"alice\"\nuser = \"alice\"\nconnector = { kind = \"vdir\", root = \"mb/alice\" }\n\n\
             [[profile]]\nname = \"ghost\"\nuser = \"ghost\"\nconnector = { kind = \"vdir\", root = \"mb/ghost\" }\n",
        )
        .unwrap();
        let ctx = Context::load(Some(&config)).unwrap();
        let store = ctx.open_store().await.unwrap();
        let (alice, _) = store
            .create_user(UserFields {
                name: "alice".into(),
                email: None,
                role: Role::User,
                active: true,
            })
            .await
            .unwrap();

        let dir_profiles = ConfigProfiles::load(&ctx, &store).await;
        assert_eq!(
            dir_profiles.profiles(),
            vec![ProfileInfo {
                name: "alice".into(),
                user_id: alice.meta.id.clone(),
            }]
        );
        let ready = dir_profiles.sync_profile("alice").await.unwrap();
        assert_eq!(ready.actor.user_id, alice.meta.id);
        assert!(matches!(
            dir_profiles.sync_profile("nobody").await,
            Err(ProfileError::NotFound(_))
        ));
    }
}
