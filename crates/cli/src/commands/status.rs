//! `crmsync status`: how every profile is doing: those stored in the
//! database (server mode: the file's once `serve`/`worker` imported them,
//! and those created over the API) with their schedule, and the file's
//! profiles not stored yet.

use std::process::ExitCode;

use crmsync_ops::{ScheduleView, profile_status};
use crmsync_service::ProfileCatalog;

use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    // Reading views needs no key: they hold no credentials.
    let stored = ProfileCatalog::new(store.clone(), None).views_for_all().await?;
    let mut statuses = Vec::new();
    for p in &ctx.config.profiles {
        if stored.iter().any(|v| v.name == p.name) {
            continue;
        }
        // The user is shown when it resolves; a missing user is the sync's
        // error to report, not the status's.
        let user_id = profiles::find_user(&store, &p.user).await.ok().map(|u| u.meta.id);
        statuses.push(profile_status(&store.sync_state(), &p.name, user_id.as_deref()).await?);
    }
    for v in &stored {
        let mut status = profile_status(&store.sync_state(), &v.name, Some(&v.user_id)).await?;
        let mut schedule = ScheduleView::from(v);
        schedule.scheduler_enabled = Some(ctx.config.scheduler.enabled);
        status.schedule = Some(schedule);
        statuses.push(status);
    }
    statuses.sort_by(|a, b| a.profile.cmp(&b.profile));
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else if statuses.is_empty() {
        println!(
            "no profiles: add a [[profile]] to the configuration (see README, Configuration) or create one over the API"
        );
    } else {
        for s in &statuses {
            print!("{s}");
        }
    }
    // Monitoring can tell "something needs attention" from the exit code.
    let scheduler_failing = |s: &crmsync_ops::ProfileStatus| {
        s.schedule
            .as_ref()
            .is_some_and(|sch| sch.state == crmsync_ops::ScheduleState::Failing)
    };
    if statuses.iter().any(|s| s.failing.is_some() || scheduler_failing(s)) {
        Ok(ExitCode::from(5))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
