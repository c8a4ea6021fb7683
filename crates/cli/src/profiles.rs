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
    let (connector, write_concurrency) = open_connector(ctx, &p.connector)?;
    Ok(SyncProfile::new(p.name.clone(), actor, rules, connector).with_write_concurrency(write_concurrency))
}

/// The profile's connector, and how many item writes a run keeps in flight
/// for it (R-SYNC-PERF-2): a DAV profile's `concurrency` (R-CFG-DAV-1) sets it.
fn open_connector(
    ctx: &Context,
    connector: &ConnectorConfig,
) -> anyhow::Result<(Arc<dyn crmsync_connector::Connector>, usize)> {
    Ok(match connector {
        ConnectorConfig::Vdir { root } => {
            let root = ctx.resolve(root);
            std::fs::create_dir_all(&root).with_context(|| format!("creating the vdir folder {}", root.display()))?;
            let vdir = VdirConnector::open(&VdirConfig { root })?;
            (Arc::new(vdir), crmsync_sync::write_concurrency_for(None))
        }
        ConnectorConfig::Dav { .. } => {
            let (dav, requests) = dav_connector(connector)?;
            (Arc::new(dav), crmsync_sync::write_concurrency_for(Some(requests)))
        }
    })
}

/// Opens a DAV connector from its config. Secrets named by `{ env }` or
/// `{ file }` are read now, so a rotated secret is picked up at the next run;
/// neither `DavConfig`'s `Debug` nor the connector's errors show them.
/// Also returns the requests it allows at once (its `concurrency`).
fn dav_connector(connector: &ConnectorConfig) -> anyhow::Result<(DavConnector, usize)> {
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
    let dav = DavConnector::new(&config).map_err(|e| anyhow::anyhow!("{e}; {}", e.hint()))?;
    Ok((dav, config.concurrency))
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
        let (connector, _) = dav_connector(&dav(Some(SecretSource::Value(Secret::new("hunter2"))))).unwrap();
        let shown = format!("{connector:?}");
        assert!(shown.contains("127.0.0.1:1/dav/"), "{shown}");
        assert!(!shown.contains("hunter2"), "Debug leaked the password: {shown}");

        let unset = "CRMSYNC_CLI_TEST_SURELY_UNSET_PASSWORD";
        let err = dav_connector(&dav(Some(SecretSource::Env { env: unset.into() }))).unwrap_err();
        assert!(err.to_string().contains(unset), "the error names the variable: {err}");
    }

    // R-CFG-DAV-1, R-SYNC-PERF-4: the DAV `concurrency` sets the writes a run
    // keeps in flight; a vdir profile keeps the default.
    #[test]
    fn the_dav_concurrency_sets_the_runs_write_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context {
            config: crmsync_config::Config::parse_with_env("", "test", &Default::default()).unwrap(),
            base_dir: dir.path().to_path_buf(),
        };
        let (_, writes) = open_connector(&ctx, &dav(None)).unwrap();
        assert_eq!(writes, crmsync_sync::write_concurrency_for(Some(2)));
        assert_ne!(writes, crmsync_sync::DEFAULT_WRITE_CONCURRENCY);

        let vdir = ConnectorConfig::Vdir {
            root: dir.path().join("mail"),
        };
        let (_, writes) = open_connector(&ctx, &vdir).unwrap();
        assert_eq!(writes, crmsync_sync::DEFAULT_WRITE_CONCURRENCY);
    }
}
