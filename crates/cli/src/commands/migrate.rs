use std::process::ExitCode;

use crate::context::Context;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    ctx.open_store().await?;
    println!(
        "database is up to date ({})",
        crmsync_config::redact_url(&ctx.database_url())
    );
    Ok(ExitCode::SUCCESS)
}
