//! `crmsync explain --profile P --record ID` (R-EXPLAIN-1): answers "why is
//! this meeting still in my calendar?" with the rule, filter and history.

use std::process::ExitCode;

use anyhow::bail;
use crmsync_ops::explain_record;
use crmsync_ops::{explains_nothing, what_to_do};

use crate::cli::ExplainArgs;
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: ExplainArgs, json: bool) -> anyhow::Result<ExitCode> {
    profiles::names(ctx, Some(&args.profile))?;
    let store = ctx.open_store().await?;
    let mut built = profiles::build(ctx, &store, Some(&args.profile)).await?;
    let profile = built.remove(0);
    let explanation = explain_record(&store, &profile, &args.record, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("explaining {}: {e}; what to do: {}", args.record, what_to_do(&e)))?;
    if explains_nothing(&explanation) {
        bail!(
            "no CRM record `{}`, and profile {} never synced one by that id: check the id (the CRM's record id, \
             as GET /api/v1/contacts or /api/v1/activities show it)",
            args.record,
            args.profile
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{explanation}");
    }
    Ok(ExitCode::SUCCESS)
}
