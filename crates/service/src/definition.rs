//! What a stored profile is, checked before it is saved: the pull interval's
//! range (R-SCHED-1), rules the engine accepts, and the user's rights for the
//! directions it asks for (R-PERM-1).

use std::time::Duration;

use crmsync_connector_registry::ConnectorSpec;
use crmsync_engine::{EntityClass, Rights};
use crmsync_model::User;
use serde_json::Value;

use crate::error::ServiceError;

/// R-SCHED-1: "minutes to days".
pub const MIN_PULL_INTERVAL: Duration = Duration::from_secs(60);
pub const MAX_PULL_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Where a stored profile came from. Config-file profiles are overwritten by
/// the file at every start (the file wins for its names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    Config,
    Api,
}

impl ProfileSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileSource::Config => "config",
            ProfileSource::Api => "api",
        }
    }
}

/// A profile as the service stores it. `Debug` is safe: the connector's
/// secrets hide themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDefinition {
    pub name: String,
    /// The CRM user's id.
    pub user_id: String,
    pub connector: ConnectorSpec,
    /// The mail connector beside `connector` (R-PROFILE-MAIL-1): contacts
    /// and calendars over `connector`, e-mail over this one.
    pub mail: Option<ConnectorSpec>,
    /// The engine rules as JSON (the config file's `[profile.rules]`), without `user_id`.
    pub rules: Value,
    pub pull_interval: Duration,
    /// Run on CRM changes and groupware notifications (R-SCHED-2).
    pub push: bool,
    pub enabled: bool,
}

impl ProfileDefinition {
    /// Checks what can be checked without the store.
    pub fn check_shape(&self) -> Result<(), ServiceError> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(ServiceError::invalid(
                &self.name,
                "the name must hold 1 to 200 characters",
            ));
        }
        // R-API-14: names reach logs and URLs; no control or direction characters.
        if let Err(e) = crmsync_model::record::check_name("name", &self.name) {
            return Err(ServiceError::InvalidField {
                profile: self.name.escape_debug().to_string(),
                field: e.field,
                message: e.message,
            });
        }
        if !(MIN_PULL_INTERVAL..=MAX_PULL_INTERVAL).contains(&self.pull_interval) {
            return Err(ServiceError::invalid(
                &self.name,
                format!(
                    "pull interval {} s is outside {} s (a minute) to {} s (30 days) (R-SCHED-1)",
                    self.pull_interval.as_secs(),
                    MIN_PULL_INTERVAL.as_secs(),
                    MAX_PULL_INTERVAL.as_secs()
                ),
            ));
        }
        if !self.rules.is_object() {
            return Err(ServiceError::invalid(&self.name, "rules must be a table/object"));
        }
        self.check_mail()
    }

    /// R-PROFILE-MAIL-1: `mail` is a mail kind beside a connector of items.
    pub fn check_mail(&self) -> Result<(), ServiceError> {
        if let Some(mail) = &self.mail {
            let refuse = |message: String| ServiceError::InvalidField {
                profile: self.name.clone(),
                field: "mail".into(),
                message,
            };
            if !mail.is_mail_only() {
                return Err(refuse(format!(
                    "a `{}` connector holds no e-mail; `mail` takes kind = \"imap\"",
                    mail.kind()
                )));
            }
            if self.connector.is_mail_only() {
                return Err(refuse(format!(
                    "the profile's connector is `{}` already; put the dav or vdir connector in `connector`",
                    self.connector.kind()
                )));
            }
        }
        Ok(())
    }

    /// The engine's profile for `user`, with rights narrowed to what the CRM
    /// grants the user, and validated (R-PERM-1: a direction that writes to
    /// the CRM without create/update rights is refused).
    pub fn engine_rules(&self, user: &User) -> Result<crmsync_engine::Profile, ServiceError> {
        let mut rules = self.rules.clone();
        if let Value::Object(map) = &mut rules {
            map.insert("user_id".into(), Value::String(user.meta.id.clone()));
        }
        let mut profile: crmsync_engine::Profile = serde_json::from_value(rules)
            .map_err(|e| ServiceError::invalid(&self.name, format!("invalid rules: {e}")))?;
        let granted = crm_rights(user);
        for class in EntityClass::ALL {
            let rights = &mut profile.entity_mut(class).rights;
            rights.create &= granted.create;
            rights.update &= granted.update;
        }
        profile.accounts.create &= granted.create;
        crmsync_engine::validate_profile(&profile).map_err(|source| ServiceError::Permission {
            profile: self.name.clone(),
            source,
        })?;
        Ok(profile)
    }
}

/// What the CRM lets `user` do with records (R-PERM-1). The CRM's model gives
/// every active user create and update on records they own (admins on all);
/// a deactivated user may do neither. A profile's rules can narrow this
/// (`rights` per entity), never widen it.
pub fn crm_rights(user: &User) -> Rights {
    Rights {
        create: user.fields.active,
        update: user.fields.active,
    }
}
