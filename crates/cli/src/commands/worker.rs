//! `crmsync worker`: the scheduler without the API. Any number of workers
//! (and `crmsync serve` processes) share one PostgreSQL database's profiles
//! through row leases (R-SCHED-3); on SQLite run one process only.

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context as _;
use crmsync_service::{Metrics, Scheduler, ServiceError, scheduler_from_config};
use crmsync_store::{Backend, Store, StoreError};
use tokio::sync::watch;

use crate::context::Context;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let Some(scheduler) = start_scheduler(ctx, &store, Metrics::new()).await? else {
        anyhow::bail!("scheduler.enabled is false: a worker has nothing to do; enable it or do not start the worker");
    };
    eprintln!(
        "crmsync worker {} scheduling {} profile(s); Ctrl-C stops",
        scheduler.worker_id(),
        store.catalog().profile_rows(None).await?.len()
    );
    let stop = Stop::on_signal();
    scheduler.run_until(stop.wait()).await;
    Ok(ExitCode::SUCCESS)
}

/// Imports the configuration's profiles and builds this process's scheduler;
/// `None` when `scheduler.enabled` is false.
pub async fn start_scheduler(ctx: &Context, store: &Store, metrics: Metrics) -> anyhow::Result<Option<Scheduler>> {
    if !ctx.config.scheduler.enabled {
        return Ok(None);
    }
    if store.backend() == Backend::Sqlite {
        // Leases work on SQLite too, but its one writer makes a second
        // process only wait; say so rather than let it look like a cluster.
        tracing::info!("SQLite: run one crmsync serve/worker process; use PostgreSQL for several workers");
    }
    // Workers started together on a fresh database import the same
    // [[profile]]s at the same moment, and the second insert of a name meets
    // a unique conflict. By then the row exists, so importing again finds it
    // and goes on (R-SVC-12) instead of ending this worker. Every profile
    // saves in its own transaction, so each conflict lies further down the
    // list than the one before: one attempt per profile is the most needed.
    let attempts = ctx.config.profiles.len() + 1;
    let mut attempt = 1;
    let scheduler = loop {
        match scheduler_from_config(store.clone(), &ctx.config, &ctx.base_dir, metrics.clone()).await {
            Err(ServiceError::Store(StoreError::Conflict(why))) if attempt < attempts => {
                tracing::debug!(%why, attempt, "another process imported the same profile meanwhile; importing again");
                attempt += 1;
            }
            result => break result.context("starting the scheduler")?,
        }
    };
    Ok(Some(scheduler))
}

/// Ctrl-C or SIGTERM (how containers and systemd stop a service), shared by
/// everything that must stop: the API and the scheduler.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    pub fn on_signal() -> Stop {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            terminate().await;
            tracing::info!("stopping: runs in progress get scheduler.shutdown_grace_secs to finish");
            let _ = tx.send(true);
        });
        Stop(rx)
    }

    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }
}

async fn terminate() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
