//! Sync profiles from the configuration file: the user looked up in the CRM,
//! the engine rules parsed from `[profile.rules]`, the connector opened.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use crmsync_config::{ConnectorConfig, ProfileConfig, SecretSource};
use crmsync_dav::{DavConfig, DavConnector, PasswordSource};
use crmsync_model::Actor;
use crmsync_store::Store;
use crmsync_sync::SyncProfile;
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::context::Context;

pub async fn build(ctx: &Context, store: &Store, only: Option<&str>) -> anyhow::Result<Vec<SyncProfile>> {
    let chosen: Vec<&ProfileConfig> = ctx
        .config
        .profiles
        .iter()
        .filter(|p| only.is_none_or(|name| p.name == name))
        .collect();
    if chosen.is_empty() {
        bail!(missing(ctx, only));
    }
    let mut profiles = Vec::new();
    for p in chosen {
        profiles.push(
            build_one(ctx, store, p)
                .await
                .with_context(|| format!("profile `{}`", p.name))?,
        );
    }
    Ok(profiles)
}

/// The names of the chosen profiles (one, or all), checked against the
/// configuration without opening any connector.
pub fn names(ctx: &Context, only: Option<&str>) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = ctx
        .config
        .profiles
        .iter()
        .filter(|p| only.is_none_or(|name| p.name == name))
        .map(|p| p.name.clone())
        .collect();
    if names.is_empty() {
        bail!(missing(ctx, only));
    }
    Ok(names)
}

/// "No such profile" in words that say what to do.
fn missing(ctx: &Context, only: Option<&str>) -> String {
    let known: Vec<&str> = ctx.config.profiles.iter().map(|p| p.name.as_str()).collect();
    match only {
        Some(name) if !known.is_empty() => format!(
            "no profile named `{name}` in the configuration; its profiles are: {}",
            known.join(", ")
        ),
        _ => "the configuration has no [[profile]]: add one (see README, Configuration)".to_string(),
    }
}

pub(crate) async fn build_one(ctx: &Context, store: &Store, p: &ProfileConfig) -> anyhow::Result<SyncProfile> {
    let user = find_user(store, &p.user).await?;
    let actor = Actor {
        user_id: user.meta.id.clone(),
        role: user.fields.role,
    };
    let mut rules = p.rules.clone();
    rules.insert("user_id".into(), toml::Value::String(actor.user_id.clone()));
    let rules: crmsync_engine::Profile = toml::Value::Table(rules)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("invalid [profile.rules]: {}", e.message()))?;
    let connector: Arc<dyn crmsync_connector::Connector> = match &p.connector {
        ConnectorConfig::Vdir { root } => {
            let root = ctx.resolve(root);
            std::fs::create_dir_all(&root).with_context(|| format!("creating the vdir folder {}", root.display()))?;
            Arc::new(VdirConnector::open(&VdirConfig { root })?)
        }
        ConnectorConfig::Dav { .. } => Arc::new(dav_connector(&p.connector)?),
    };
    Ok(SyncProfile::new(p.name.clone(), actor, rules, connector))
}

/// Opens a DAV connector from its config. Secrets named by `{ env }` or
/// `{ file }` are read now, so a rotated secret is picked up at the next run;
/// neither `DavConfig`'s `Debug` nor the connector's errors show them.
fn dav_connector(connector: &ConnectorConfig) -> anyhow::Result<DavConnector> {
    let ConnectorConfig::Dav {
        url,
        username,
        password,
        bearer_token,
        concurrency,
        timeout_secs,
    } = connector
    else {
        bail!("not a dav connector");
    };
    let defaults = DavConfig::new(url.clone());
    let config = DavConfig {
        username: username.clone(),
        password: password.as_ref().map(password_source),
        bearer_token: bearer_token.as_ref().map(password_source),
        concurrency: concurrency.unwrap_or(defaults.concurrency),
        timeout_secs: timeout_secs.unwrap_or(defaults.timeout_secs),
        ..defaults
    };
    DavConnector::new(&config).map_err(|e| anyhow::anyhow!("{e}; {}", e.hint()))
}

fn password_source(source: &SecretSource) -> PasswordSource {
    match source {
        SecretSource::Env { env } => PasswordSource::Env { env: env.clone() },
        SecretSource::File { file } => PasswordSource::File { file: file.clone() },
        SecretSource::Value(secret) => PasswordSource::Value(secret.clone()),
    }
}

/// A user by id or by name (names are what people write in a config file);
/// a missing user is an error that says how to add one.
pub async fn find_user(store: &Store, who: &str) -> anyhow::Result<crmsync_model::User> {
    match crmsync_service::find_user(store, who).await? {
        Some(user) => Ok(user),
        None => bail!("no CRM user named `{who}`: add one with `crmsync user add {who}`"),
    }
}

#[cfg(test)]
mod tests {
    use crmsync_connector::Secret;

    use super::*;

    fn dav(password: Option<SecretSource>) -> ConnectorConfig {
        ConnectorConfig::Dav {
            url: "http://127.0.0.1:1/dav/".into(),
            username: Some("anna".into()),
            password,
            bearer_token: None,
            concurrency: Some(2),
            timeout_secs: None,
        }
    }

    #[test]
    fn a_dav_profile_opens_its_connector_without_showing_the_password() {
        let connector = dav_connector(&dav(Some(SecretSource::Value(Secret::new("hunter2"))))).unwrap();
        let shown = format!("{connector:?}");
        assert!(shown.contains("127.0.0.1:1/dav/"), "{shown}");
        assert!(!shown.contains("hunter2"), "Debug leaked the password: {shown}");

        let unset = "CRMSYNC_CLI_TEST_SURELY_UNSET_PASSWORD";
        let err = dav_connector(&dav(Some(SecretSource::Env { env: unset.into() }))).unwrap_err();
        assert!(err.to_string().contains(unset), "the error names the variable: {err}");
    }
}
