//! Sync profiles from the configuration file: the user looked up in the CRM,
//! the engine rules parsed from `[profile.rules]`, the connector opened.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use crmsync_config::{ConnectorConfig, ProfileConfig};
use crmsync_model::{Actor, UserFields};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
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
        match only {
            Some(name) => bail!("no profile named `{name}` in the configuration"),
            None => bail!("the configuration has no [[profile]]: add one (see README, Configuration)"),
        }
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

async fn build_one(ctx: &Context, store: &Store, p: &ProfileConfig) -> anyhow::Result<SyncProfile> {
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
    let connector = match &p.connector {
        ConnectorConfig::Vdir { root } => {
            let root = ctx.resolve(root);
            std::fs::create_dir_all(&root).with_context(|| format!("creating the vdir folder {}", root.display()))?;
            Arc::new(VdirConnector::open(&VdirConfig { root })?)
        }
    };
    Ok(SyncProfile::new(p.name.clone(), actor, rules, connector))
}

/// A user by id or by name (names are what people write in a config file).
pub async fn find_user(store: &Store, who: &str) -> anyhow::Result<crmsync_model::User> {
    if let Ok(user) = store.get::<UserFields>(who).await {
        return Ok(user);
    }
    let mut cursor = None;
    loop {
        let page = store
            .list::<UserFields>(&ListQuery {
                visible_to: None,
                owner_id: None,
                modified_since: None,
                cursor,
                limit: MAX_PAGE,
            })
            .await?;
        if let Some(u) = page.items.into_iter().find(|u| u.fields.name == who) {
            return Ok(u);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => bail!("no CRM user named `{who}`: add one with `crmsync user add {who}`"),
        }
    }
}
