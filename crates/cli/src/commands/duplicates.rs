//! `crmsync duplicates [--profile P]` (R-PAIR-2): the latest report of
//! records and items that matched ambiguously and were not merged.

use std::process::ExitCode;

use crate::cli::ProfileFilter;
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: ProfileFilter, json: bool) -> anyhow::Result<ExitCode> {
    let names = profiles::names(ctx, args.profile.as_deref())?;
    let store = ctx.open_store().await?;
    let mut reports = Vec::new();
    for name in &names {
        reports.push(crmsync_ops::duplicates::read(&store, name).await?);
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
