//! Sync profiles from the configuration file: the user looked up in the CRM,
//! the engine rules parsed from `[profile.rules]`, the connector opened.

use anyhow::{Context as _, anyhow, bail};
use crmsync_config::ProfileConfig;
use crmsync_service::{OneShotConnectorFactory, ProfileCatalog, ServiceError};
use crmsync_store::Store;
use crmsync_sync::SyncProfile;

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

/// The profiles a repeated `--profile` names, each once and in the order
/// given, or every profile when none is named.
pub async fn build_named(ctx: &Context, store: &Store, names: &[String]) -> anyhow::Result<Vec<SyncProfile>> {
    if names.is_empty() {
        return build(ctx, store, None).await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut profiles = Vec::new();
    for name in names.iter().filter(|n| seen.insert(n.as_str())) {
        profiles.extend(build(ctx, store, Some(name)).await?);
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
    // The one profile factory the scheduler and the API use too, so the
    // profile's rights are narrowed to its CRM user's (R-PERM-1) here as well.
    // With the key, so a delegated Graph profile finds its sealed sign-in (R-GRAPH-32).
    // The user is looked up once (R-SYNC-PERF-8).
    let catalog = ProfileCatalog::new(store.clone(), ProfileCatalog::key_from_config(&ctx.config)?);
    let ready = catalog
        .ready_config_profile(
            &OneShotConnectorFactory,
            p,
            ctx.config.scheduler.default_pull_interval_secs,
            &ctx.base_dir,
        )
        .await;
    match ready {
        // Fails the way the other commands do when the user is missing.
        Err(ServiceError::UnknownUser { user, .. }) => Err(no_such_user(&user)),
        other => Ok(other?),
    }
}

/// A user by id or by name (names are what people write in a config file);
/// a missing user is an error that says how to add one.
pub async fn find_user(store: &Store, who: &str) -> anyhow::Result<crmsync_model::User> {
    match crmsync_service::find_user(store, who).await? {
        Some(user) => Ok(user),
        None => Err(no_such_user(who)),
    }
}

fn no_such_user(who: &str) -> anyhow::Error {
    anyhow!("no CRM user named `{who}`: add one with `crmsync user add {who}`")
}

#[cfg(test)]
mod tests {
    use crmsync_model::{Role, UserFields};

    use super::*;

    fn ctx_with(dir: &std::path::Path, connector: &str) -> Context {
        let text = format!(
            "[database]\nurl = \"sqlite://crm.db\"\n[[profile]]\nname = \"anna\"\nuser = \"anna\"\nconnector = {{ {connector} }}\n"
        );
        let path = dir.join("crmsync.toml");
        std::fs::write(&path, text).unwrap();
        Context::load(Some(&path)).unwrap()
    }

    async fn store_with_anna(ctx: &Context) -> Store {
        let store = ctx.open_store().await.unwrap();
        store
            .records()
            .create_user(UserFields {
                name: "anna".into(),
                email: None,
                role: Role::User,
                active: true,
            })
            .await
            .unwrap();
        store
    }

    // R-CFG-DAV-1, R-SYNC-PERF-4: the DAV `concurrency` sets the writes a run
    // keeps in flight; a vdir profile keeps the default, its missing root is
    // created for `crmsync sync`, relative to the configuration file.
    #[tokio::test]
    async fn the_dav_concurrency_sets_the_runs_write_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx_with(
            dir.path(),
            "kind = \"dav\", url = \"http://127.0.0.1:1/dav/\", username = \"anna\", password = \"hunter2\", concurrency = 2",
        );
        let store = store_with_anna(&ctx).await;
        let built = build(&ctx, &store, None).await.unwrap();
        assert_eq!(built[0].write_concurrency, crmsync_sync::write_concurrency_for(Some(2)));
        assert_ne!(built[0].write_concurrency, crmsync_sync::DEFAULT_WRITE_CONCURRENCY);

        let ctx = ctx_with(dir.path(), "kind = \"vdir\", root = \"mail/anna\"");
        let built = build(&ctx, &store, None).await.unwrap();
        assert_eq!(built[0].write_concurrency, crmsync_sync::DEFAULT_WRITE_CONCURRENCY);
        assert!(dir.path().join("mail/anna").is_dir());
    }
}
