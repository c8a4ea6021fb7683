//! `crmsync serve`: the API and the scheduler in one process.

use std::process::ExitCode;

use anyhow::Context as _;
use crmsync_cli::{Context, Stop, serving_catalog, start_scheduler};
use crmsync_server::AppState;

/// The API of `crmsync-server`, as the command line's `serve`.
pub(crate) struct ServeApi;

#[async_trait::async_trait]
impl crmsync_cli::Serve for ServeApi {
    async fn serve(&self, ctx: &Context) -> anyhow::Result<ExitCode> {
        run(ctx).await
    }
}

async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let listen = &ctx.config.server.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (server.listen): is another process using it?"))?;
    // The /sync and /profiles routes serve the database's profiles: the
    // file's (imported now) and those created over the API.
    let catalog = serving_catalog(ctx, &store).await?;
    let mut state = AppState::new(store.clone())
        .with_max_body_bytes(ctx.config.server.max_body_bytes as usize)
        .with_secure_cookies(ctx.config.server.secure_cookies)
        .with_live_poll(std::time::Duration::from_millis(ctx.config.server.live_poll_millis))
        .with_catalog(catalog)
        .with_default_pull_interval_secs(ctx.config.scheduler.default_pull_interval_secs);
    tracing::info!(%listen, "crmsync API listening");
    eprintln!(
        "crmsync API on http://{listen}/api/v1 (OpenAPI: /api/v1/openapi.json), dashboard on http://{listen}/; Ctrl-C stops"
    );
    // The scheduler runs beside the API (R-SCHED-1/2/3); /metrics and /readyz with it.
    let metrics = crmsync_service::Metrics::new();
    let stop = Stop::on_signal();
    let scheduler = start_scheduler(ctx, &store, metrics.clone()).await?;
    if let Some(s) = &scheduler {
        // Pushes (R-SCHED-2) go through this process's scheduler.
        state = state.with_scheduler(s.clone());
    }
    let scheduler = scheduler.map(|s| {
        let stop = stop.clone();
        tokio::spawn(async move { s.run_until(stop.wait()).await })
    });
    crmsync_server::routes::ops_metrics::serve_with_ops(listener, state, metrics, stop.wait()).await?;
    if let Some(scheduler) = scheduler {
        scheduler.await.context("the scheduler stopped abnormally")?;
    }
    Ok(ExitCode::SUCCESS)
}
