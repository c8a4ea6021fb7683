//! Profiles managed over the API: who may create, change, delete and push
//! which profile (R-PERM-1/2), what a request must hold, and how a PUT that
//! leaves out the password keeps the stored one. Decisions: `docs/RULES.md`,
//! R-SVC-API-1..6.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_model::Actor;
use crmsync_store::{ProfileExpect, ProfileRow, ProfileSave, ProfileUpsert};
use serde_json::{Map, Value};

use crate::catalog::{ProfileCatalog, ProfileView};
use crate::definition::{MAX_PULL_INTERVAL, MIN_PULL_INTERVAL, ProfileDefinition, ProfileSource};
use crate::error::ServiceError;
use crate::settings::StoredConnector;
use crmsync_connector_registry::{ConnectorSpec, KINDS, secret_keys};

/// A profile as an API client sends it (create or replace).
#[derive(Clone)]
pub struct ProfileInput {
    pub name: String,
    /// The CRM user the profile syncs for; `None`: the caller on create, the
    /// profile's user on replace.
    pub user_id: Option<String>,
    /// `{ "kind": "vdir" | "dav", … }` as the config file's `[profile.connector]`.
    pub connector: Value,
    /// `{ "kind": "imap", … }` beside `connector`, as the config file's
    /// `[profile.mail]` (R-PROFILE-MAIL-1); `None` or `null`: none.
    pub mail: Option<Value>,
    /// The config file's `[profile.rules]` as JSON.
    pub rules: Value,
    pub pull_interval_secs: u64,
    pub push: bool,
    pub enabled: bool,
}

// A derived `Debug` would print the connector JSON with its password.
impl std::fmt::Debug for ProfileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput")
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .field("connector_kind", &self.redacted_kind())
            .field("mail", &self.mail.as_ref().filter(|m| !m.is_null()).map(|_| "…"))
            .field("pull_interval_secs", &self.pull_interval_secs)
            .field("push", &self.push)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl ProfileInput {
    fn redacted_kind(&self) -> &str {
        self.connector.get("kind").and_then(Value::as_str).unwrap_or("?")
    }
}

/// A created profile and its push token, shown this once.
#[derive(Clone)]
pub struct CreatedProfile {
    pub view: ProfileView,
    pub push_token: String,
}

impl std::fmt::Debug for CreatedProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedProfile")
            .field("view", &self.view)
            .field("push_token", &"<redacted>")
            .finish()
    }
}

/// What a push-token webhook found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// Push is on and the profile enabled: trigger it.
    Trigger(String),
    /// The profile ignores notifications (push off or disabled); it keeps
    /// its interval.
    Ignored(String),
    /// The URL of a change notification subscription the scheduler holds
    /// (R-SCHED-2): the body says what happened
    /// ([`ProfileCatalog::receive_notifications`]).
    Subscription(crmsync_store::status::PushSubscriptionRow),
}

impl ProfileCatalog {
    /// R-SVC-API-1: creates an API profile; the name must be free.
    pub async fn create_for(
        &self,
        actor: &Actor,
        input: ProfileInput,
        now: DateTime<Utc>,
    ) -> Result<CreatedProfile, ServiceError> {
        let def = self.definition_for(actor, &input, None).await?;
        match self
            .store()
            .catalog()
            .save_profile(
                &self.row_of(&def, ProfileSource::Api, None)?,
                now,
                ProfileExpect::Absent,
            )
            .await?
        {
            ProfileSave::Done(_) => {}
            ProfileSave::Exists => return Err(ServiceError::ProfileExists(def.name)),
            other => unreachable!("a create cannot end as {other:?}"),
        }
        let push_token = self.issue_push_token(&def.name).await?;
        tracing::info!(profile = %def.name, kind = input.redacted_kind(), "profile created over the API");
        Ok(CreatedProfile {
            view: self
                .view(&def.name)
                .await?
                .ok_or_else(|| ServiceError::ProfileNotFound(def.name.clone()))?,
            push_token,
        })
    }

    /// Replaces an API profile the actor may manage, based on `version`
    /// (If-Match). Leaving out `password`/`bearer_token` keeps the stored
    /// one while kind, URL and user name stay (R-SVC-API-3).
    pub async fn replace_for(
        &self,
        actor: &Actor,
        name: &str,
        version: i64,
        mut input: ProfileInput,
        now: DateTime<Utc>,
    ) -> Result<(ProfileView, ProfileUpsert), ServiceError> {
        let existing = self.managed_row(actor, name).await?;
        input.name = name.to_string();
        let def = self.definition_for(actor, &input, Some(&existing)).await?;
        let row = self.row_of(&def, ProfileSource::Api, Some(&existing))?;
        let outcome = match self
            .store()
            .catalog()
            .save_profile(&row, now, ProfileExpect::Version(version))
            .await?
        {
            ProfileSave::Done(outcome) => outcome,
            ProfileSave::Missing => return Err(ServiceError::ProfileNotFound(name.to_string())),
            ProfileSave::Stale { current } => {
                return Err(ServiceError::ProfileVersion {
                    profile: name.to_string(),
                    expected: version,
                    current,
                });
            }
            ProfileSave::Exists => unreachable!("a replace never expects the name free"),
        };
        tracing::info!(profile = %name, ?outcome, "profile replaced over the API");
        let view = self
            .view(name)
            .await?
            .ok_or_else(|| ServiceError::ProfileNotFound(name.to_string()))?;
        Ok((view, outcome))
    }

    /// Deletes an API profile the actor may manage (its sync status stays).
    pub async fn delete_for(&self, actor: &Actor, name: &str) -> Result<(), ServiceError> {
        let row = self.managed_row(actor, name).await?;
        self.end_subscriptions(&row).await;
        if !self.delete(name).await? {
            return Err(ServiceError::ProfileNotFound(name.to_string()));
        }
        tracing::info!(profile = %name, "profile deleted over the API");
        Ok(())
    }

    /// A new push token for a profile the actor may see (config-file
    /// profiles too: the token is no part of the file's definition). The old
    /// token stops working at once.
    pub async fn rotate_push_token_for(&self, actor: &Actor, name: &str) -> Result<String, ServiceError> {
        self.view_for(actor, name).await?;
        self.issue_push_token(name).await
    }

    /// R-SVC-API-5: the profile a webhook's token names, or the
    /// subscription whose URL carries it; `None` for an unknown token.
    pub async fn push_target(&self, token: &str) -> Result<Option<PushTarget>, ServiceError> {
        let Some(row) = self
            .store()
            .catalog()
            .profile_by_push_token_hash(&crmsync_store::hash_token(token))
            .await?
        else {
            let sub = self.store().sync_state().push_subscription_by_url_token(token).await?;
            return Ok(sub.map(PushTarget::Subscription));
        };
        let d = row.definition;
        Ok(Some(if d.push && d.enabled {
            PushTarget::Trigger(d.name)
        } else {
            PushTarget::Ignored(d.name)
        }))
    }

    async fn issue_push_token(&self, name: &str) -> Result<String, ServiceError> {
        let token = new_push_token();
        if !self
            .store()
            .catalog()
            .set_push_token_hash(name, &crmsync_store::hash_token(&token))
            .await?
        {
            return Err(ServiceError::ProfileNotFound(name.to_string()));
        }
        Ok(token)
    }

    /// The row of a profile the actor may change: visible to them (else
    /// "not found") and not owned by the config file (R-SVC-API-4).
    async fn managed_row(&self, actor: &Actor, name: &str) -> Result<ProfileRow, ServiceError> {
        self.view_for(actor, name).await?;
        let row = self
            .store()
            .catalog()
            .profile_row(name)
            .await?
            .ok_or_else(|| ServiceError::ProfileNotFound(name.to_string()))?;
        if row.definition.source == ProfileSource::Config.as_str() {
            return Err(ServiceError::ManagedByConfig(name.to_string()));
        }
        Ok(row)
    }

    /// Checks the request as R-SVC-API-2 says and builds the definition.
    async fn definition_for(
        &self,
        actor: &Actor,
        input: &ProfileInput,
        existing: Option<&ProfileRow>,
    ) -> Result<ProfileDefinition, ServiceError> {
        let name = input.name.trim();
        if name.is_empty() || name.len() > 200 || name != input.name || name.contains('/') {
            return Err(field(
                &input.name,
                "name",
                "1 to 200 characters, no surrounding spaces and no `/`",
            ));
        }
        // R-API-14: the name reaches logs and URLs; the profile is named escaped.
        crmsync_model::record::check_name("name", name)
            .map_err(|e| field(&name.escape_debug().to_string(), "name", e.message))?;
        // Absent: on replace the profile's user, on create the caller.
        let user_id = input
            .user_id
            .clone()
            .or_else(|| existing.map(|r| r.definition.user_id.clone()))
            .unwrap_or_else(|| actor.user_id.clone());
        if !actor.is_admin() && user_id != actor.user_id {
            return Err(ServiceError::Forbidden(
                "a user may set up profiles only for themselves (user_id); an admin may for anyone".into(),
            ));
        }
        if let Some(row) = existing
            && row.definition.user_id != user_id
        {
            return Err(field(
                name,
                "user_id",
                "a profile keeps its user; delete it and create one for the other user",
            ));
        }
        let pull_interval = Duration::from_secs(input.pull_interval_secs);
        if !(MIN_PULL_INTERVAL..=MAX_PULL_INTERVAL).contains(&pull_interval) {
            return Err(field(
                name,
                "pull_interval_secs",
                format!(
                    "must be {} (a minute) to {} (30 days) (R-SCHED-1)",
                    MIN_PULL_INTERVAL.as_secs(),
                    MAX_PULL_INTERVAL.as_secs()
                ),
            ));
        }
        if !input.rules.is_object() {
            return Err(field(
                name,
                "rules",
                "must be an object (the config file's [profile.rules])",
            ));
        }
        let (stored_main, stored_mail) = match existing {
            Some(row) if row.definition.connector_secret.is_some() => {
                let (main, mail) = self.stored_connectors_of(row)?;
                (Some(main), mail)
            }
            _ => (None, None),
        };
        let connector = self.connector_for(actor, name, "connector", &input.connector, stored_main.as_ref())?;
        // R-PROFILE-MAIL-1: the mail connector beside it, checked exactly as
        // the config file's `mail` (its secrets kept on replace the same way).
        let mail = match input.mail.as_ref().filter(|m| !m.is_null()) {
            Some(json) => Some(self.connector_for(actor, name, "mail", json, stored_mail.as_ref())?),
            None => None,
        };
        let def = ProfileDefinition {
            name: name.to_string(),
            user_id: user_id.clone(),
            connector,
            mail,
            rules: input.rules.clone(),
            pull_interval,
            push: input.push,
            enabled: input.enabled,
        };
        def.check_mail()?;
        let user = match self.user(name, &user_id).await {
            Err(ServiceError::UnknownUser { .. }) => {
                return Err(field(name, "user_id", "no CRM user with this id"));
            }
            other => other?,
        };
        match def.engine_rules(&user) {
            Ok(_) => Ok(def),
            Err(ServiceError::InvalidProfile { message, .. }) => Err(field(name, "rules", message)),
            Err(e) => Err(e),
        }
    }

    /// The connector of `slot` (`connector` or `mail`) from the request;
    /// `stored` is the stored one of that slot, unsealed, on replace.
    fn connector_for(
        &self,
        actor: &Actor,
        name: &str,
        slot: &str,
        json: &Value,
        stored: Option<&StoredConnector>,
    ) -> Result<ConnectorSpec, ServiceError> {
        let Value::Object(map) = json else {
            return Err(field(name, slot, "must be an object with a `kind`"));
        };
        let Some(kind) = map.get("kind").and_then(Value::as_str) else {
            return Err(field(
                name,
                &format!("{slot}.kind"),
                format!("required: one of {}", KINDS.join(", ")),
            ));
        };
        if !KINDS.contains(&kind) {
            return Err(field(
                name,
                &format!("{slot}.kind"),
                format!("`{kind}` is not available; use one of: {}", KINDS.join(", ")),
            ));
        }
        let mut map: Map<String, Value> = map.clone();
        // `null` removes a stored secret; absent keeps it (see `keep_secrets`).
        let cleared: Vec<String> = secret_keys(kind)
            .iter()
            .filter(|k| map.get(**k) == Some(&Value::Null))
            .map(|k| k.to_string())
            .collect();
        for k in &cleared {
            map.remove(k);
        }
        for key in secret_keys(kind) {
            if let Some(v) = map.get(*key)
                && !v.is_string()
                && !actor.is_admin()
            {
                // `{ env }` / `{ file }` would make the server read its own
                // environment or files on a user's behalf.
                return Err(ServiceError::Forbidden(format!(
                    "only an admin may point {slot}.{key} at an environment variable or a file; send the secret itself"
                )));
            }
        }
        let absent: Vec<&str> = secret_keys(kind)
            .iter()
            .copied()
            .filter(|k| !map.contains_key(*k) && !cleared.iter().any(|c| c == k))
            .collect();
        let mut settings = StoredConnector::from_json(Value::Object(map)).expect("kind checked above");
        if let Some(stored) = stored {
            keep_secrets(name, slot, &mut settings, stored, &absent)?;
        }
        // The connector's own checks, the same the config file applies (R-CFG-SPEC-1).
        let spec = settings
            .to_spec()
            .map_err(|e| field(name, &format!("{slot}.{}", e.key), e.message))?;
        if !actor.is_admin() && spec.uses_local_files() {
            return Err(ServiceError::Forbidden(format!(
                "only an admin may set up a {kind} profile: it reads and writes folders on the server"
            )));
        }
        Ok(spec)
    }
}

/// The public settings that say where a stored secret goes and whose it is:
/// while any of them changes, a secret left out of an edit is not kept, so an
/// edit can never send a stored credential to a server (or use it for an
/// account) its owner did not choose (R-SVC-API-3). DAV and Graph name their
/// server by `url` / `base_url` and `authority` (where Graph tokens come
/// from), IMAP by `host` and `port`; the account is `username` (DAV, IMAP) or
/// `tenant`, `client_id` and `mailbox` (Graph).
const DESTINATION_KEYS: [&str; 9] = [
    "url",
    "host",
    "port",
    "username",
    "base_url",
    "authority",
    "tenant",
    "client_id",
    "mailbox",
];

/// The destination settings of `c` with every default filled in, read
/// through its kind's own config type, so a key left at its default compares
/// equal to the same default written out; the raw settings when they do not
/// read (then any difference counts).
fn destination(c: &StoredConnector) -> Vec<Option<Value>> {
    let mut map = c.public.clone();
    map.insert("kind".into(), Value::String(c.kind.clone()));
    let full = serde_json::from_value::<ConnectorSpec>(Value::Object(map.clone()))
        .map(|spec| spec.expose_json())
        .unwrap_or(Value::Object(map));
    DESTINATION_KEYS.iter().map(|k| full.get(*k).cloned()).collect()
}

/// R-SVC-API-3: a secret left out of a PUT is taken from the stored
/// profile, but only to the same destination for the same account
/// ([`DESTINATION_KEYS`]): otherwise an edit could send a stored secret to a
/// server of the editor's choice.
fn keep_secrets(
    name: &str,
    slot: &str,
    settings: &mut StoredConnector,
    stored: &StoredConnector,
    absent: &[&str],
) -> Result<(), ServiceError> {
    if absent.is_empty() {
        return Ok(());
    }
    let stored_keys: Vec<&str> = stored.secrets.keys().filter(|k| absent.contains(k)).collect();
    if stored_keys.is_empty() {
        return Ok(());
    }
    if stored.kind != settings.kind || destination(stored) != destination(settings) {
        return Err(field(
            name,
            &format!("{slot}.{}", stored_keys[0]),
            "the connector's kind, server, account or user name changed: send the credentials again",
        ));
    }
    // The other credential replaces the stored one rather than joining it.
    if secret_keys(&settings.kind).iter().any(|k| !absent.contains(k)) {
        return Ok(());
    }
    settings.secrets = stored.secrets.clone();
    Ok(())
}

fn field(profile: &str, field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidField {
        profile: profile.to_string(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// `cps_` + base64url of 32 random bytes: unguessable, URL-safe.
pub(crate) fn new_push_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("cps_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
