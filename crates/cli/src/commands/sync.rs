use std::process::ExitCode;

use crmsync_connector::ConnectorError;
use crmsync_service::{ServiceError, SystemClock, manual_worker_id, run_profile_now};
use crmsync_store::Store;
use crmsync_sync::{RunOptions, RunOutcome, RunReport, SyncError, SyncProfile, run_profile};

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::profiles;
use crate::progress::Bars;

/// The store is closed where commands are dispatched, also after a failure
/// (R-SYNC-PERF-10, `Context::close_stores`).
pub async fn run(ctx: &Context, args: SyncArgs, json: bool) -> anyhow::Result<ExitCode> {
    // One command, one run after another: one SQLite connection (R-STORE-12).
    let store = &ctx.open_store_one_shot().await?;
    let profiles = profiles::build_named(ctx, store, &args.profile).await?;
    let worker = manual_worker_id("crmsync-sync");
    let mut reports = Vec::new();
    let mut busy = false;
    for profile in &profiles {
        match run_one(store, profile, args.dry_run, args.confirm_mass_delete, &worker).await? {
            Ran::Report(r) => reports.push(r),
            // The other profiles still run: one busy profile holds up no one.
            Ran::Busy(message) => {
                eprintln!("{message}");
                busy = true;
            }
        }
    }
    print_reports(&reports, json);
    let code = exit_code(&reports);
    Ok(if busy && code == ExitCode::SUCCESS {
        ExitCode::from(EXIT_BUSY)
    } else {
        code
    })
}

/// EX_TEMPFAIL of sysexits.h: a profile ran elsewhere; the same command
/// succeeds later (R-SVC-13).
pub const EXIT_BUSY: u8 = 75;

enum Ran {
    Report(RunReport),
    /// Another worker holds the profile's lease: what to tell the user.
    Busy(String),
}

pub async fn sync_all(
    store: &Store,
    profiles: &[SyncProfile],
    dry_run: bool,
    confirm_mass_delete: bool,
) -> anyhow::Result<Vec<RunReport>> {
    let worker = manual_worker_id("crmsync-sync");
    let mut reports = Vec::new();
    for profile in profiles {
        match run_one(store, profile, dry_run, confirm_mass_delete, &worker).await? {
            Ran::Report(r) => reports.push(r),
            Ran::Busy(message) => anyhow::bail!(message),
        }
    }
    Ok(reports)
}

/// One profile's run. A real run holds the profile's lease when the profile
/// is stored (R-SCHED-3, R-SVC-13); a dry-run writes nothing and takes none.
async fn run_one(
    store: &Store,
    profile: &SyncProfile,
    dry_run: bool,
    confirm_mass_delete: bool,
    worker: &str,
) -> anyhow::Result<Ran> {
    let bars = Bars::new(profile.name.clone());
    let opts = RunOptions {
        dry_run,
        confirm_mass_delete,
        progress: &bars,
        ..RunOptions::default()
    };
    let fail = |e: SyncError| anyhow::anyhow!("{}", failure_message(&profile.name, &e));
    if dry_run {
        return Ok(Ran::Report(run_profile(store, profile, &opts).await.map_err(fail)?));
    }
    let leased = run_profile_now(store, &SystemClock, profile, worker, &opts).await;
    match leased {
        Ok(result) => Ok(Ran::Report(result.map_err(fail)?)),
        Err(ServiceError::ProfileBusy {
            profile: p,
            worker,
            until,
        }) => Ok(Ran::Busy(format!(
            "profile {p}: not run, worker {worker} is syncing it right now (lease until {until}); \
             nothing was changed: try again when that run has ended\n  then run: crmsync sync --profile {p}"
        ))),
        Err(e) => Err(anyhow::anyhow!("profile {}: {e}", profile.name)),
    }
}

/// A failed run in words that say what to do, and the command that tries
/// again. The common failures get words for the command line: the
/// connector's own hint speaks of automatic retries, which only the
/// scheduler of `crmsync serve`/`worker` makes, not a one-off `crmsync sync`.
fn failure_message(profile: &str, e: &SyncError) -> String {
    let temporary = if e.is_transient() { " (temporary)" } else { "" };
    let what_to_do = match e {
        // A Graph device-code profile's sign-in (R-GRAPH-32/33): its own
        // message names the command; a password is not what to correct.
        SyncError::Connector(ConnectorError::Unauthorized { detail }) if detail.contains("graph sign-in") => {
            format!("sign in again with `crmsync graph sign-in {profile}`, as the message says")
        }
        SyncError::Connector(ConnectorError::Unauthorized { .. }) => format!(
            "the server refused the user name or password: correct `username` and `password` (or \
             `bearer_token`) of profile {profile} in the configuration, or the variable or file its password names"
        ),
        SyncError::Connector(ConnectorError::Unreachable { .. } | ConnectorError::Timeout { .. }) => format!(
            "check the server address (`url` of profile {profile} in the configuration) and the network; \
             nothing is lost: the next run resumes where this one stopped, and `crmsync serve` and \
             `crmsync worker` retry on their own"
        ),
        _ => crmsync_ops::what_to_do(e).to_string(),
    };
    format!(
        "profile {profile}: {e}{temporary}\n  what to do: {what_to_do}\n  then run: crmsync sync --profile {profile}"
    )
}

pub fn print_reports(reports: &[RunReport], json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(reports).expect("reports serialise"));
    } else {
        for r in reports {
            print!("{r}");
            if is_held(r) {
                println!(
                    "  the mass-delete guard (R-SAFE-3) held this run and nothing was deleted: first check the plan \
                     with `crmsync sync --profile {p} --dry-run`; then either repair with the reset above, or \
                     run `crmsync sync --profile {p} --confirm-mass-delete` to apply it",
                    p = r.profile
                );
            }
        }
    }
}

/// The guard held the run, or would hold it: a dry run of a held plan
/// answers like the held run (R-SYNC-GUARD-1), so a script can test first.
fn is_held(r: &RunReport) -> bool {
    r.outcome == RunOutcome::Guarded
        || (r.outcome == RunOutcome::DryRun
            && r.collections
                .iter()
                .any(|c| c.guard.as_ref().is_some_and(|g| !g.confirmed)))
}

/// 0 when everything is in step, 3 when a guard held a plan (the user must
/// confirm), 4 when items were left for the next run.
pub fn exit_code(reports: &[RunReport]) -> ExitCode {
    if reports.iter().any(is_held) {
        ExitCode::from(3)
    } else if reports.iter().any(|r| r.outcome == RunOutcome::Partial) {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    }
}
