use std::process::ExitCode;

use crmsync_connector::ConnectorError;
use crmsync_store::Store;
use crmsync_sync::{RunOptions, RunOutcome, RunReport, SyncError, SyncProfile, run_profile};

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::profiles;
use crate::progress::Bars;

pub async fn run(ctx: &Context, args: SyncArgs, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let profiles = profiles::build(ctx, &store, args.profile.as_deref()).await?;
    let reports = sync_all(&store, &profiles, args.dry_run, args.confirm_mass_delete).await?;
    print_reports(&reports, json);
    Ok(exit_code(&reports))
}

pub async fn sync_all(
    store: &Store,
    profiles: &[SyncProfile],
    dry_run: bool,
    confirm_mass_delete: bool,
) -> anyhow::Result<Vec<RunReport>> {
    let mut reports = Vec::new();
    for profile in profiles {
        let bars = Bars::new(profile.name.clone());
        let opts = RunOptions {
            dry_run,
            confirm_mass_delete,
            progress: &bars,
            ..RunOptions::default()
        };
        let report = run_profile(store, profile, &opts)
            .await
            .map_err(|e| anyhow::anyhow!("{}", failure_message(&profile.name, &e)))?;
        reports.push(report);
    }
    Ok(reports)
}

/// A failed run in words that say what to do, and the command that tries
/// again. The common failures get words for the command line: the
/// connector's own hint speaks of automatic retries, which only the
/// scheduler of `crmsync serve`/`worker` makes, not a one-off `crmsync sync`.
fn failure_message(profile: &str, e: &SyncError) -> String {
    let temporary = if e.is_transient() { " (temporary)" } else { "" };
    let what_to_do = match e {
        SyncError::Connector(ConnectorError::Unauthorized { .. }) => format!(
            "the server refused the user name or password: correct `username` and `password` (or \
             `bearer_token`) of profile {profile} in the configuration, or the variable or file its password names"
        ),
        SyncError::Connector(ConnectorError::Unreachable { .. } | ConnectorError::Timeout { .. }) => format!(
            "check the server address (`url` of profile {profile} in the configuration) and the network; \
             nothing is lost: the next run resumes where this one stopped, and `crmsync serve` and \
             `crmsync worker` retry on their own"
        ),
        _ => crmsync_server::sync::what_to_do(e).to_string(),
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
            if r.outcome == RunOutcome::Guarded {
                println!(
                    "  the mass-delete guard (R-SAFE-3) held this run and nothing was deleted: check the plan with \
                     `crmsync sync --profile {p} --dry-run`, then run `crmsync sync --profile {p} --confirm-mass-delete`",
                    p = r.profile
                );
            }
        }
    }
}

/// 0 when everything is in step, 3 when a guard held a plan (the user must
/// confirm), 4 when items were left for the next run.
pub fn exit_code(reports: &[RunReport]) -> ExitCode {
    if reports.iter().any(|r| r.outcome == RunOutcome::Guarded) {
        ExitCode::from(3)
    } else if reports.iter().any(|r| r.outcome == RunOutcome::Partial) {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    }
}
