//! `crmsync status`: how every profile of the configuration is doing.

use std::process::ExitCode;

use crmsync_server::sync::profile_status;

use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let mut statuses = Vec::new();
    for p in &ctx.config.profiles {
        // The user is shown when it resolves; a missing user is the sync's
        // error to report, not the status's.
        let user_id = profiles::find_user(&store, &p.user).await.ok().map(|u| u.meta.id);
        statuses.push(profile_status(&store, &p.name, user_id.as_deref()).await?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else if statuses.is_empty() {
        println!("the configuration has no [[profile]]: add one (see README, Configuration)");
    } else {
        for s in &statuses {
            print!("{s}");
        }
    }
    // Monitoring can tell "something needs attention" from the exit code.
    if statuses.iter().any(|s| s.failing.is_some()) {
        Ok(ExitCode::from(5))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
