//! One scheduled run of a stored profile: unseal, check rights, open the
//! connector, run, count what was done. The scheduler around it owns the
//! lease and the schedule.

use crmsync_store::ProfileRow;
use crmsync_sync::{RunOptions, RunReport, run_profile};

use crate::catalog::ProfileCatalog;
use crate::clock::Clock;
use crate::error::ServiceError;
use crate::factory::ConnectorFactory;
use crate::metrics::Metrics;

pub(crate) struct RunContext<'a> {
    pub catalog: &'a ProfileCatalog,
    pub factory: &'a dyn ConnectorFactory,
    pub clock: &'a dyn Clock,
    pub metrics: &'a Metrics,
}

pub(crate) async fn run_stored_profile(ctx: &RunContext<'_>, row: &ProfileRow) -> Result<RunReport, ServiceError> {
    // Rights are checked at every run, not only when saved: a user can lose
    // them (be deactivated) after the profile was set up (R-PERM-1).
    let profile = ctx.catalog.ready_profile(ctx.factory, row).await?;
    let opts = RunOptions {
        now: Some(ctx.clock.now()),
        ..RunOptions::default()
    };
    // Every write of the run commits only while this claim's lease token is
    // current (R-SCHED-4): a worker that paused past its lease cannot write.
    let fenced = ctx.catalog.store().fenced(&row.definition.name, row.status.lease_token);
    let report = run_profile(&fenced, &profile, &opts).await?;
    if let Some(run_id) = &report.run_id {
        // The history holds every applied action with its rule; the report
        // keeps only the last pass's plan.
        for entry in ctx.catalog.store().sync_state().run_history(run_id).await? {
            if entry.action != "warning" {
                ctx.metrics.action(&entry.action, &entry.rule);
            }
        }
    }
    Ok(report)
}
