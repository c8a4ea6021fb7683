//! `crmsync conflicts [--profile P]` and `crmsync conflicts resolve ID
//! --take crm|groupware` (R-EDIT-3 `manual`).

use std::process::ExitCode;

use anyhow::bail;
use crmsync_ops::ConflictView;
use crmsync_ops::{ConflictChoice, resolve_conflict};

use crate::cli::{ConflictsArgs, ConflictsCommand, ResolveArgs, Take};
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: ConflictsArgs, json: bool) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ConflictsCommand::Resolve(r)) => resolve(ctx, r, json).await,
        None => list(ctx, args.filter.profile.as_deref(), json).await,
    }
}

async fn list(ctx: &Context, profile: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let names = profiles::names(ctx, profile)?;
    let store = ctx.open_store().await?;
    let conflicts: Vec<ConflictView> = store
        .sync_state()
        .open_conflicts(profile)
        .await?
        .into_iter()
        .filter(|c| names.contains(&c.profile))
        .map(ConflictView::from)
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&conflicts)?);
    } else if conflicts.is_empty() {
        println!("no open conflicts");
    } else {
        for c in &conflicts {
            print!("{c}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn resolve(ctx: &Context, args: ResolveArgs, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let Some(conflict) = store.sync_state().conflict(&args.id).await? else {
        bail!("no conflict `{}`: `crmsync conflicts` lists the open ones", args.id);
    };
    if let Some(how) = conflict.resolution {
        bail!("conflict `{}` is already resolved ({how}): nothing to do", args.id);
    }
    let (choice, take) = match args.take {
        Take::Crm => (ConflictChoice::Crm, "crm"),
        Take::Groupware => (ConflictChoice::Groupware, "groupware"),
    };
    resolve_conflict(&store.sync_state(), &args.id, &choice).await?;
    let next = format!(
        "the next sync (`crmsync sync --profile {}`) writes the chosen values to the other side",
        conflict.profile
    );
    if json {
        println!(
            "{}",
            serde_json::json!({ "id": args.id, "take": take, "profile": conflict.profile, "next": next })
        );
    } else {
        println!("conflict {} resolved: the {take} values win", args.id);
        println!("  {next}");
    }
    Ok(ExitCode::SUCCESS)
}
