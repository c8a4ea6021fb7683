//! `crmsync graph sign-in PROFILE` (R-GRAPH-31): the delegated sign-in of a
//! Graph profile with `auth = "device-code"`. Prints Microsoft's text (the
//! page and the code), waits for the user, and stores the refresh token in
//! the database sealed with `[security] key`, where every run of the
//! profile (this process's, the server's, other workers') finds it.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use crmsync_connector::Reach;
use crmsync_graph::{Clock, GraphAuth, SystemClock};
use crmsync_service::{ConnectorSpec, ProfileCatalog, SealedVault};

use crate::cli::SignInArgs;
use crate::context::Context;

pub async fn sign_in(ctx: &Context, args: SignInArgs) -> anyhow::Result<ExitCode> {
    let mut print = |text: &str| println!("{text}");
    sign_in_with(ctx, &args.profile, Arc::new(SystemClock), &mut print).await?;
    println!(
        "signed in: profile `{}` now syncs as the user who signed in",
        args.profile
    );
    Ok(ExitCode::SUCCESS)
}

/// The sign-in with the waits of `clock`, the user's text to `show`.
pub async fn sign_in_with(
    ctx: &Context,
    profile: &str,
    clock: Arc<dyn Clock>,
    show: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<()> {
    let store = ctx.open_store().await?;
    let Some(key) = ProfileCatalog::key_from_config(&ctx.config)? else {
        bail!("set [security] key (or CRMSYNC_SECURITY_KEY): the sign-in is kept in the database sealed with it");
    };
    let catalog = ProfileCatalog::new(store.clone(), Some(key.clone()));
    // The file's profile of that name, else one stored over the API; the
    // latter signs in with its owner's reach (R-SEC-1): a user's profile
    // names its own authority, which must not lead this command inside.
    let (definition, reach) = match ctx.config.profiles.iter().find(|p| p.name == profile) {
        Some(p) => (
            catalog
                .definition_from_config(p, ctx.config.scheduler.default_pull_interval_secs, &ctx.base_dir)
                .await?,
            Reach::Any,
        ),
        None => match store.catalog().profile_row(profile).await? {
            Some(row) => {
                let definition = catalog.definition_of(&row)?;
                let user = catalog.user(profile, &definition.user_id).await?;
                let reach = catalog.reach_of(&row.definition.source, &user);
                (definition, reach)
            }
            None => bail!("no profile named `{profile}` in the configuration or the database"),
        },
    };
    let ConnectorSpec::Graph(config) = definition.connector else {
        bail!("profile `{profile}` is no Graph profile: only those sign in");
    };
    if config.auth != GraphAuth::DeviceCode {
        bail!("profile `{profile}` signs in app-only (auth = client-secret or certificate): it needs no sign-in");
    }
    let token = crmsync_graph::sign_in(&config, clock, reach, show)
        .await
        .with_context(|| format!("signing in profile `{profile}`"))?;
    SealedVault::new(store, key, profile, definition.user_id)
        .store(&token)
        .await?;
    Ok(())
}
