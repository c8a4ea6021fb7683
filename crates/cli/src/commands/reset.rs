//! `crmsync reset --profile P [--record ID | --collection C]` (R-RESET-1).

use std::process::ExitCode;

use crmsync_ops::{ResetReport, check_collection};
use crmsync_ops::{ResetScope, reset_pairs as reset};

use crate::cli::ResetArgs;
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: ResetArgs, json: bool) -> anyhow::Result<ExitCode> {
    profiles::names(ctx, Some(&args.profile))?;
    if let Some(c) = &args.collection {
        check_collection(c).map_err(anyhow::Error::msg)?;
    }
    let store = ctx.open_store().await?;
    let scope = ResetScope {
        collection: args.collection.clone(),
        record_id: args.record.clone(),
    };
    let forgotten = reset(&store.sync_state(), &args.profile, &scope).await?;
    let report = ResetReport::new(&args.profile, args.collection, args.record, forgotten);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
