//! `crmsync untrack --profile P --record ID (--keep-in-crm | --delete-in-crm)`
//! (R-DEL-13): stop syncing a record; the choice to delete it in the CRM as
//! well must be made explicitly, and only the record's owner may make it.

use std::process::ExitCode;

use anyhow::Context as _;
use crmsync_ops::{UntrackReport, stop_tracking};

use crate::cli::UntrackArgs;
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: UntrackArgs, json: bool) -> anyhow::Result<ExitCode> {
    profiles::names(ctx, Some(&args.profile))?;
    let config = ctx
        .config
        .profiles
        .iter()
        .find(|p| p.name == args.profile)
        .context("the profile was checked above")?;
    let store = ctx.open_store().await?;
    let user = profiles::find_user(&store, &config.user).await?;
    let report = stop_tracking(&store, &args.profile, &user.meta.id, &args.record, args.delete_in_crm).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn text(r: &UntrackReport) -> String {
    let crm = if r.deleted_in_crm {
        "the CRM record was deleted (R-DEL-13)".to_string()
    } else {
        "the CRM record stays".to_string()
    };
    format!(
        "profile {}: record {} is no longer synced ({}); {crm}; the groupware item {} stays\n  \
         to sync it again: `crmsync reset --profile {} --record {}`\n",
        r.profile, r.record_id, r.collection, r.href, r.profile, r.record_id
    )
}
