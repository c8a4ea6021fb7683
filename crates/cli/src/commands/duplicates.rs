//! `crmsync duplicates [--profile P]` (R-PAIR-2): the latest report of
//! records and items that matched ambiguously and were not merged; `link`
//! and `keep-apart` resolve a group by choice (R-OPS-16).

use std::process::ExitCode;

use crmsync_ops::duplicates_resolve::{keep_apart, link};

use crate::cli::{DuplicatesArgs, DuplicatesCommand};
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: DuplicatesArgs, json: bool) -> anyhow::Result<ExitCode> {
    if let Some(command) = args.command {
        return resolve(ctx, command, json).await;
    }
    let names = profiles::names(ctx, args.filter.profile.as_deref())?;
    let store = ctx.open_store().await?;
    let mut reports = Vec::new();
    for name in &names {
        reports.push(crmsync_ops::duplicates::read(&store.sync_state(), name).await?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            print!("{r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn resolve(ctx: &Context, command: DuplicatesCommand, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let done = match command {
        DuplicatesCommand::Link(a) => {
            profiles::names(ctx, Some(&a.profile))?;
            link(&store.sync_state(), &a.profile, &a.collection, &a.record, &a.href).await?
        }
        DuplicatesCommand::KeepApart(a) => {
            profiles::names(ctx, Some(&a.profile))?;
            keep_apart(&store.sync_state(), &a.profile, &a.collection, &a.member).await?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        print!("{done}");
    }
    Ok(ExitCode::SUCCESS)
}
