use std::process::ExitCode;

use anyhow::Context as _;
use crmsync_server::AppState;

use crate::context::Context;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let listen = &ctx.config.server.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (server.listen): is another process using it?"))?;
    let state = AppState::new(store).with_max_body_bytes(ctx.config.server.max_body_bytes as usize);
    tracing::info!(%listen, "crmsync API listening");
    eprintln!("crmsync API on http://{listen}/api/v1 (OpenAPI: /api/v1/openapi.json); Ctrl-C stops");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    crmsync_server::serve(listener, state, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}
