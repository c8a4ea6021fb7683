//! Runs started by hand (`crmsync sync`, `POST /sync/profiles/{name}/run`)
//! hold the profile's lease like a scheduled run, so one profile never runs
//! twice at once, whoever started it (R-SCHED-3, R-SVC-13).
//!
//! The lease is taken before the run, renewed every third of it while the
//! run goes on, and given back after without touching the schedule. A lease
//! held by a worker refuses the run at once: waiting would leave a command or
//! an HTTP request hanging for as long as that run takes.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_store::{LeaseTake, Store};
use crmsync_sync::{RunOptions, RunReport, SyncError, SyncProfile, run_profile};

use crate::clock::Clock;
use crate::error::ServiceError;

/// How long a manual run's lease lasts between renewals. Independent of
/// `scheduler.lease_secs`: the CLI may run without a scheduler config, and
/// a renewed lease never lapses during the run whatever its length.
pub const MANUAL_LEASE: Duration = Duration::from_secs(60);

/// A lease owner name for a manual run made `via` the CLI or the API: says
/// where it runs, so the refusal others see names it.
pub fn manual_worker_id(via: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("{via}@{host}-{}-{}", std::process::id(), &unique[..8])
}

/// Runs `run` while `worker` holds the lease of `profile`, handing it the
/// store the run must write through.
///
/// - a taken lease hands `run` a store fenced with the lease's token
///   (R-SCHED-4): once another worker claims the profile (this process
///   paused past the lease), every further write of the run fails with
///   `StoreError::Fenced` and commits nothing;
/// - a profile with no `sync_profiles` row (config-file profile used by the
///   CLI without `serve`) has no lease and no scheduler to collide with: it
///   runs as is, on `store` unfenced (R-SVC-13);
/// - a lease someone else holds is [`ServiceError::ProfileBusy`], at once;
/// - a lease lost during the run (this process paused past it) stops the run
///   with [`ServiceError::LeaseLost`], as the scheduler does.
pub async fn run_holding_lease<R, F, T>(
    store: &Store,
    clock: &dyn Clock,
    profile: &str,
    worker: &str,
    lease: Duration,
    run: R,
) -> Result<T, ServiceError>
where
    R: FnOnce(Store) -> F,
    F: Future<Output = T>,
{
    let now = clock.now();
    // The run is only built once the lease is known, so it cannot get hold
    // of a store other than the one its lease allows.
    let run = match store
        .catalog()
        .take_lease(profile, worker, now, now + chrono_duration(lease))
        .await?
    {
        LeaseTake::NoRow => return Ok(run(store.clone()).await),
        LeaseTake::Held { owner, until } => {
            return Err(ServiceError::ProfileBusy {
                profile: profile.to_string(),
                worker: owner,
                until,
            });
        }
        LeaseTake::Taken { token } => run(store.fenced(profile, token)),
    };
    tokio::pin!(run);
    let names = [profile.to_string()];
    let result = loop {
        tokio::select! {
            out = &mut run => break Ok(out),
            _ = tokio::time::sleep(lease / 3) => {
                let until = clock.now() + chrono_duration(lease);
                match store.catalog().renew_leases(worker, &names, until).await {
                    Ok(held) if held.is_empty() => {
                        tracing::warn!(profile, worker, "lease lost to another worker: stopping the manual run");
                        break Err(ServiceError::LeaseLost { profile: profile.to_string() });
                    }
                    Ok(_) => {}
                    // The next renewal tries again, well before the lease ends.
                    Err(e) => tracing::warn!(profile, worker, error = %e, "could not renew the lease of a manual run"),
                }
            }
        }
    };
    match store.catalog().return_lease(profile, worker).await {
        Ok(_) => {}
        // It then expires after at most one lease.
        Err(e) => tracing::warn!(profile, worker, error = %e, "could not give the lease of a manual run back"),
    }
    result
}

/// A run started by hand (CLI, API, dashboard) as `worker`: `profile`'s run
/// inside [`run_holding_lease`] with [`MANUAL_LEASE`], writing through the
/// lease's fence (R-SCHED-4). The outer error is the lease's, the inner one
/// the run's; each caller words them for its own face.
pub async fn run_profile_now(
    store: &Store,
    clock: &dyn Clock,
    profile: &SyncProfile,
    worker: &str,
    opts: &RunOptions<'_>,
) -> Result<Result<RunReport, SyncError>, ServiceError> {
    run_holding_lease(store, clock, &profile.name, worker, MANUAL_LEASE, |store| async move {
        run_profile(&store, profile, opts).await
    })
    .await
}

/// Seconds a refused caller should wait before trying again: until the
/// holder's lease would end, at least one.
pub fn retry_after_secs(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (until - now).num_seconds().max(1) as u64
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
