//! The stored profiles: saving (validated, credentials sealed), importing the
//! config file's profiles, reading them back for a run or for display.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_config::{Config, ProfileConfig};
use std::sync::Arc;

use crmsync_connector::{AllowList, Reach, VaultHandle};
use crmsync_model::{Actor, Role, User, UserFields};
use crmsync_store::{ListQuery, MAX_PAGE, ProfileDefinitionRow, ProfileRow, ProfileUpsert, Store, StoreError};
use crmsync_sync::SyncProfile;
use serde::Serialize;
use serde_json::Value;

use crate::definition::{ProfileDefinition, ProfileSource};
use crate::error::ServiceError;
use crate::factory::ConnectorFactory;
use crate::profile_factory::build_sync_profile;
use crate::secret_key::SecretKey;
use crate::settings::{SecretFields, StoredConnector};
use crate::sign_in_vault::SealedVault;

/// Stored profiles, with the key that seals their credentials.
#[derive(Debug, Clone)]
pub struct ProfileCatalog {
    store: Store,
    key: Option<SecretKey>,
    /// `[security] allowed_hosts`: the internal hosts non-admin profiles may
    /// still reach (R-SEC-1).
    allowed_hosts: AllowList,
}

/// A profile as the API and status show it: never a credential, only
/// whether the profile has any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileView {
    pub name: String,
    pub user_id: String,
    pub source: String,
    pub connector_kind: String,
    pub connector: Value,
    pub has_credentials: bool,
    pub rules: Value,
    pub pull_interval_secs: i64,
    pub push: bool,
    pub enabled: bool,
    pub state: crmsync_store::ScheduleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub failures: i64,
    pub next_run_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leased_by: Option<String>,
    /// Bumped whenever the definition changes: the `ETag`, sent back as `If-Match`.
    pub version: i64,
}

impl ProfileCatalog {
    pub fn new(store: Store, key: Option<SecretKey>) -> Self {
        ProfileCatalog {
            store,
            key,
            allowed_hosts: AllowList::default(),
        }
    }

    /// The catalog of server mode: `[security] key` and `allowed_hosts`.
    pub fn from_config(store: Store, config: &Config) -> Result<Self, ServiceError> {
        Ok(ProfileCatalog::new(store, ProfileCatalog::key_from_config(config)?)
            .with_allowed_hosts(ProfileCatalog::allowed_hosts_from_config(config)?))
    }

    /// R-SEC-4: at start, names the stored profiles whose credentials this
    /// process cannot decrypt because no key is set, and warns once; they
    /// would otherwise fail only when they run.
    pub async fn warn_if_keyless(&self) -> Result<Vec<String>, ServiceError> {
        if self.key.is_some() {
            return Ok(Vec::new());
        }
        let locked: Vec<String> = self
            .views_for_all()
            .await?
            .into_iter()
            .filter(|v| v.has_credentials)
            .map(|v| v.name)
            .collect();
        if !locked.is_empty() {
            tracing::warn!(
                profiles = ?locked,
                "stored profiles have credentials but no security key is set, so they cannot run: set \
                 CRMSYNC_SECURITY_KEY to the key they were saved with (a new key: `openssl rand -base64 32`, then \
                 enter their credentials again)"
            );
        }
        Ok(locked)
    }

    /// Sets the administrator's exceptions to R-SEC-1 (`[security] allowed_hosts`).
    pub fn with_allowed_hosts(mut self, allowed_hosts: AllowList) -> Self {
        self.allowed_hosts = allowed_hosts;
        self
    }

    /// `[security] allowed_hosts`, checked.
    pub fn allowed_hosts_from_config(config: &Config) -> Result<AllowList, ServiceError> {
        AllowList::parse(&config.security.allowed_hosts).map_err(|e| ServiceError::Config {
            key: "security.allowed_hosts".into(),
            message: e.to_string(),
        })
    }

    /// Where `def`'s connector may connect (R-SEC-1): anywhere for profiles
    /// of the configuration file and of administrators (the operator's own
    /// choices), public addresses and the allow-list for everyone else.
    pub fn reach_of(&self, source: &str, user: &User) -> Reach {
        if source == ProfileSource::Config.as_str() || user.fields.role == Role::Admin {
            Reach::Any
        } else {
            Reach::Public(self.allowed_hosts.clone())
        }
    }

    /// The key from `[security] key` (empty: none).
    pub fn key_from_config(config: &Config) -> Result<Option<SecretKey>, ServiceError> {
        match config.security.key.trim() {
            "" => Ok(None),
            text => SecretKey::from_base64(text).map(Some),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Validates and stores `def` (R-SCHED-1 range, rules, R-PERM-1 rights)
    /// with its credentials sealed. Saving the same definition again keeps
    /// the profile's schedule.
    pub async fn save(
        &self,
        def: &ProfileDefinition,
        source: ProfileSource,
        now: DateTime<Utc>,
    ) -> Result<ProfileUpsert, ServiceError> {
        def.check_shape()?;
        let user = self.user(&def.name, &def.user_id).await?;
        def.engine_rules(&user)?;
        let existing = self.store.catalog().profile_row(&def.name).await?;
        let row = self.row_of(def, source, existing.as_ref())?;
        Ok(self.store.catalog().upsert_profile(&row, now).await?)
    }

    /// The row to store for `def`, its credentials sealed.
    pub(crate) fn row_of(
        &self,
        def: &ProfileDefinition,
        source: ProfileSource,
        existing: Option<&ProfileRow>,
    ) -> Result<ProfileDefinitionRow, ServiceError> {
        let stored = StoredConnector::of_profile(&def.connector, def.mail.as_ref());
        Ok(ProfileDefinitionRow {
            name: def.name.clone(),
            user_id: def.user_id.clone(),
            source: source.as_str().to_string(),
            connector_kind: stored.kind.clone(),
            connector_settings: stored.public_json(),
            connector_secret: self.seal_reusing(def, &stored.secrets, existing)?,
            rules: serde_json::to_string(&def.rules).expect("JSON values serialise"),
            pull_interval_secs: def.pull_interval.as_secs() as i64,
            push: def.push,
            enabled: def.enabled,
        })
    }

    /// The stored profile ready to run: unsealed, rights checked against the
    /// user as of now (R-PERM-1), connector opened.
    pub async fn ready_profile(
        &self,
        factory: &dyn ConnectorFactory,
        row: &ProfileRow,
    ) -> Result<SyncProfile, ServiceError> {
        let def = self.definition_of(row)?;
        self.ready_from(factory, &def, &row.definition.source).await
    }

    /// A definition of the configuration file ready to run without storing
    /// it (`crmsync sync`): rights checked against the user as of now
    /// (R-PERM-1), connector opened; the file is the administrator's, so its
    /// profiles reach any address (R-SEC-1).
    pub async fn ready_definition(
        &self,
        factory: &dyn ConnectorFactory,
        def: &ProfileDefinition,
    ) -> Result<SyncProfile, ServiceError> {
        self.ready_from(factory, def, ProfileSource::Config.as_str()).await
    }

    /// A `[[profile]]` of the configuration file ready to run without
    /// storing it (`crmsync sync`), as [`ProfileCatalog::ready_definition`]
    /// of [`ProfileCatalog::definition_from_config`], with the user looked up
    /// once (R-SYNC-PERF-8): one statement before the run, where the two
    /// took a look-up by name and a read by id. The user read a moment ago
    /// is the user as of now for R-PERM-1.
    pub async fn ready_config_profile(
        &self,
        factory: &dyn ConnectorFactory,
        p: &ProfileConfig,
        default_interval_secs: u64,
        base_dir: &Path,
    ) -> Result<SyncProfile, ServiceError> {
        let user = self.config_user(p).await?;
        let def = definition_for(p, &user, default_interval_secs, base_dir)?;
        let reach = self.reach_of(ProfileSource::Config.as_str(), &user);
        build_sync_profile(
            &def,
            &user,
            factory,
            &reach,
            self.sign_in_vault(&def.name, &def.user_id),
        )
    }

    async fn ready_from(
        &self,
        factory: &dyn ConnectorFactory,
        def: &ProfileDefinition,
        source: &str,
    ) -> Result<SyncProfile, ServiceError> {
        let user = self.user(&def.name, &def.user_id).await?;
        let reach = self.reach_of(source, &user);
        build_sync_profile(def, &user, factory, &reach, self.sign_in_vault(&def.name, &def.user_id))
    }

    /// Where the profile's delegated sign-in is kept (R-GRAPH-32): sealed
    /// with the `[security] key`, so none without one (a device-code
    /// profile then says "not signed in" when opened).
    pub fn sign_in_vault(&self, profile: &str, user_id: &str) -> Option<VaultHandle> {
        let key = self.key.clone()?;
        Some(VaultHandle(Arc::new(SealedVault::new(
            self.store.clone(),
            key,
            profile,
            user_id,
        ))))
    }

    /// As [`ProfileCatalog::ready_profile`], by name.
    pub async fn ready_profile_named(
        &self,
        factory: &dyn ConnectorFactory,
        name: &str,
    ) -> Result<SyncProfile, ServiceError> {
        let row = self
            .store
            .catalog()
            .profile_row(name)
            .await?
            .ok_or_else(|| ServiceError::ProfileNotFound(name.to_string()))?;
        self.ready_profile(factory, &row).await
    }

    /// A fresh seal differs every time (random nonce); when the secret is the
    /// one already stored, keep the stored text so an unchanged profile stays
    /// unchanged (and keeps its schedule).
    fn seal_reusing(
        &self,
        def: &ProfileDefinition,
        secrets: &SecretFields,
        existing: Option<&ProfileRow>,
    ) -> Result<Option<String>, ServiceError> {
        if secrets.is_empty() {
            return Ok(None);
        }
        let key = self.key.as_ref().ok_or_else(|| ServiceError::NoSecurityKey {
            profile: def.name.clone(),
        })?;
        if let Some(sealed) = existing.and_then(|r| r.definition.connector_secret.as_deref())
            && let Ok(plain) = key.open(&def.name, sealed)
            && SecretFields::from_exposed_json(&plain).as_ref() == Some(secrets)
        {
            return Ok(Some(sealed.to_string()));
        }
        Ok(Some(key.seal(&def.name, secrets.expose_json().as_bytes())))
    }

    /// Upserts every `[[profile]]` of the file; the file wins over earlier
    /// API edits of the same names. Relative vdir roots follow `base_dir`.
    pub async fn import_config(
        &self,
        config: &Config,
        base_dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, ProfileUpsert)>, ServiceError> {
        let mut done = Vec::new();
        for p in &config.profiles {
            let def = self
                .definition_from_config(p, config.scheduler.default_pull_interval_secs, base_dir)
                .await?;
            // R-SVC-8: the file takes over a name an API user chose; say so,
            // since that user's profile is replaced.
            if let Some(row) = self.store.catalog().profile_row(&def.name).await?
                && row.definition.source == ProfileSource::Api.as_str()
            {
                tracing::warn!(
                    profile = %def.name,
                    previous_user = %row.definition.user_id,
                    "the configuration file takes over a profile created over the API"
                );
            }
            done.push((p.name.clone(), self.save(&def, ProfileSource::Config, now).await?));
        }
        Ok(done)
    }

    /// A `[[profile]]` of the file as a definition: its user looked up (by
    /// name or id), relative paths resolved against `base_dir`.
    pub async fn definition_from_config(
        &self,
        p: &ProfileConfig,
        default_interval_secs: u64,
        base_dir: &Path,
    ) -> Result<ProfileDefinition, ServiceError> {
        let user = self.config_user(p).await?;
        definition_for(p, &user, default_interval_secs, base_dir)
    }

    /// The CRM user a `[[profile]]` of the file names (by name or id).
    async fn config_user(&self, p: &ProfileConfig) -> Result<User, ServiceError> {
        find_user(&self.store, &p.user)
            .await?
            .ok_or_else(|| ServiceError::UnknownUser {
                profile: p.name.clone(),
                user: p.user.clone(),
            })
    }

    /// The definition with its credentials unsealed, for a run.
    pub fn definition_of(&self, row: &ProfileRow) -> Result<ProfileDefinition, ServiceError> {
        let d = &row.definition;
        let (main, mail) = self.stored_connectors_of(row)?;
        let spec_of = |stored: &StoredConnector| {
            stored.to_spec().map_err(|e| {
                if e.key == "kind" {
                    ServiceError::UnknownConnectorKind {
                        profile: d.name.clone(),
                        kind: stored.kind.clone(),
                        available: crmsync_connector_registry::KINDS.join(", "),
                    }
                } else {
                    ServiceError::invalid(&d.name, format!("stored connector setting {e}"))
                }
            })
        };
        let connector = spec_of(&main)?;
        let mail = mail.as_ref().map(spec_of).transpose()?;
        Ok(ProfileDefinition {
            name: d.name.clone(),
            user_id: d.user_id.clone(),
            connector,
            mail,
            rules: serde_json::from_str(&d.rules)
                .map_err(|e| ServiceError::invalid(&d.name, format!("stored rules: {e}")))?,
            pull_interval: Duration::from_secs(d.pull_interval_secs.max(0) as u64),
            push: d.push,
            enabled: d.enabled,
        })
    }

    /// The stored connector and the profile's `mail` connector, if any,
    /// with their credentials unsealed.
    pub(crate) fn stored_connectors_of(
        &self,
        row: &ProfileRow,
    ) -> Result<(StoredConnector, Option<StoredConnector>), ServiceError> {
        let d = &row.definition;
        let public: serde_json::Map<String, Value> = serde_json::from_str(&d.connector_settings)
            .map_err(|e| ServiceError::invalid(&d.name, format!("stored connector settings: {e}")))?;
        let secrets = match &d.connector_secret {
            None => SecretFields::default(),
            Some(sealed) => {
                let key = self.key.as_ref().ok_or_else(|| ServiceError::NoKeyToDecrypt {
                    profile: d.name.clone(),
                })?;
                let plain = key.open(&d.name, sealed).map_err(|_| ServiceError::SecretUnreadable {
                    profile: d.name.clone(),
                })?;
                SecretFields::from_exposed_json(&plain).ok_or_else(|| ServiceError::SecretUnreadable {
                    profile: d.name.clone(),
                })?
            }
        };
        let mut main = StoredConnector {
            kind: d.connector_kind.clone(),
            public,
            secrets,
        };
        let mail = main.take_mail();
        Ok((main, mail))
    }

    pub async fn view(&self, name: &str) -> Result<Option<ProfileView>, ServiceError> {
        Ok(self.store.catalog().profile_row(name).await?.as_ref().map(view_of))
    }

    /// Profiles `actor` may see: all for an admin, their own otherwise (R-PERM-2).
    pub async fn views_for(&self, actor: &Actor) -> Result<Vec<ProfileView>, ServiceError> {
        let only = (!actor.is_admin()).then_some(actor.user_id.as_str());
        Ok(self
            .store
            .catalog()
            .profile_rows(only)
            .await?
            .iter()
            .map(view_of)
            .collect())
    }

    /// The owners and schedules of the profiles `actor` may see, without
    /// their settings (list pages of many profiles).
    pub async fn schedules_for(&self, actor: &Actor) -> Result<Vec<crmsync_store::ProfileScheduleRow>, ServiceError> {
        let only = (!actor.is_admin()).then_some(actor.user_id.as_str());
        Ok(self.store.catalog().profile_schedules(only).await?)
    }

    /// Every stored profile, by name (operator tools).
    pub async fn views_for_all(&self) -> Result<Vec<ProfileView>, ServiceError> {
        Ok(self
            .store
            .catalog()
            .profile_rows(None)
            .await?
            .iter()
            .map(view_of)
            .collect())
    }

    /// A profile `actor` may manage: an admin any, a user their own (R-PERM-2).
    /// Another user's profile answers as missing, so names reveal nothing.
    pub async fn view_for(&self, actor: &Actor, name: &str) -> Result<ProfileView, ServiceError> {
        match self.view(name).await? {
            Some(v) if actor.is_admin() || v.user_id == actor.user_id => Ok(v),
            _ => Err(ServiceError::ProfileNotFound(name.to_string())),
        }
    }

    pub async fn delete(&self, name: &str) -> Result<bool, ServiceError> {
        Ok(self.store.catalog().delete_profile(name).await?)
    }

    /// The profile's user, current (active flag and role as of now).
    pub async fn user(&self, profile: &str, user_id: &str) -> Result<User, ServiceError> {
        match self.store.records().get::<UserFields>(user_id).await {
            Ok(u) => Ok(u),
            Err(StoreError::NotFound { .. }) => Err(ServiceError::UnknownUser {
                profile: profile.to_string(),
                user: user_id.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// A `[[profile]]` of the file as a definition for `user`, relative paths
/// resolved against `base_dir`.
fn definition_for(
    p: &ProfileConfig,
    user: &User,
    default_interval_secs: u64,
    base_dir: &Path,
) -> Result<ProfileDefinition, ServiceError> {
    let mut connector = p.connector.clone();
    connector.resolve_paths(base_dir);
    let mut mail = p.mail.clone();
    if let Some(mail) = &mut mail {
        mail.resolve_paths(base_dir);
    }
    let rules = serde_json::to_value(&p.rules).map_err(|e| ServiceError::invalid(&p.name, e.to_string()))?;
    Ok(ProfileDefinition {
        name: p.name.clone(),
        user_id: user.meta.id.clone(),
        connector,
        mail,
        rules,
        pull_interval: Duration::from_secs(p.pull_interval_secs.unwrap_or(default_interval_secs)),
        push: p.push.unwrap_or(true),
        enabled: p.enabled.unwrap_or(true),
    })
}

fn view_of(row: &ProfileRow) -> ProfileView {
    let d = &row.definition;
    let s = &row.status;
    ProfileView {
        name: d.name.clone(),
        user_id: d.user_id.clone(),
        source: d.source.clone(),
        connector_kind: d.connector_kind.clone(),
        connector: serde_json::from_str(&d.connector_settings).unwrap_or(Value::Null),
        has_credentials: d.connector_secret.is_some(),
        rules: serde_json::from_str(&d.rules).unwrap_or(Value::Null),
        pull_interval_secs: d.pull_interval_secs,
        push: d.push,
        enabled: d.enabled,
        state: s.state,
        state_reason: s.state_reason.clone(),
        failures: s.failures,
        next_run_at: s.next_run_at,
        last_run_at: s.last_run_at,
        leased_by: s.lease_owner.clone(),
        version: row.version,
    }
}

/// A user by id or by name (names are what people write in a config file).
///
/// R-SYNC-PERF-8: one query finds the user by id or by folded name (the
/// unique `name_key`, R-API-16); an id wins over a name, and a name must
/// match exactly, as before. Only when that finds neither (no such user, a
/// name written in another case, a twin renamed by migration 0006) are the
/// users listed as before. Twins of one exact name (only in a database from
/// before 0006) resolve to the oldest, the one holding the name's key.
pub async fn find_user(store: &Store, who: &str) -> Result<Option<User>, ServiceError> {
    let found = store.records().users_by_id_or_name(who).await?;
    if let Some(user) = found.iter().find(|u| u.meta.id == who) {
        return Ok(Some(user.clone()));
    }
    if let Some(user) = found.into_iter().find(|u| u.fields.name == who) {
        return Ok(Some(user));
    }
    let mut cursor = None;
    loop {
        let page = store
            .records()
            .list::<UserFields>(&ListQuery {
                visible_to: None,
                owner_id: None,
                modified_since: None,
                cursor,
                limit: MAX_PAGE,
            })
            .await?;
        if let Some(u) = page.items.into_iter().find(|u| u.fields.name == who) {
            return Ok(Some(u));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(None),
        }
    }
}
