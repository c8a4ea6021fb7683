//! The buttons of the home page: run now (optionally confirming a held mass
//! delete) and reset a collection. Each is the ops call the API's route makes.

use axum::extract::{Path, State};
use crmsync_ops::{ResetScope, RunState, check_collection, reset_pairs, what_to_do};
use crmsync_service::{ServiceError, manual_worker_id, run_profile_now};
use crmsync_sync::{RunOptions, SyncError};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{layout, ready, visible_profile};
use crate::session::Posted;

#[derive(Debug, Deserialize)]
pub struct RunForm {
    /// `true`: apply a plan the mass-delete guard held (R-SAFE-3).
    #[serde(default)]
    confirm_mass_delete: Option<String>,
}

fn from_sync(e: SyncError) -> WebError {
    let advice = what_to_do(&e);
    match e {
        SyncError::Store(e) => WebError::Store(e),
        SyncError::Connector(c) => WebError::Failed {
            transient: c.is_transient(),
            message: format!("the groupware: {c}; {advice}"),
        },
        other => WebError::Failed {
            transient: false,
            message: format!("{other}; {advice}"),
        },
    }
}

fn done(who: &crate::session::SignedIn, title: &str, text: Markup) -> Markup {
    layout::outcome(who, title, text, ("/", "Back to the profiles"))
}

/// Runs the profile now, holding its lease like a scheduled run (R-SCHED-3).
pub async fn run_now(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<RunForm>,
) -> Result<Markup, WebError> {
    let info = visible_profile(&state, &posted.signed_in, &name).await?;
    let opts = RunOptions {
        confirm_mass_delete: posted.fields.confirm_mass_delete.as_deref() == Some("true"),
        ..RunOptions::default()
    };
    let report = run_visible(&state, &info, &opts).await?;
    Ok(done(
        &posted.signed_in,
        &format!("Ran {}", info.name),
        run_summary(&report),
    ))
}

/// Runs a profile the user may see now, holding its lease like a scheduled
/// run (R-SCHED-3); a run already going on is a conflict, nothing done.
pub async fn run_visible(
    state: &WebState,
    info: &crmsync_ops::ProfileInfo,
    opts: &RunOptions<'_>,
) -> Result<crmsync_sync::RunReport, WebError> {
    let profile = ready(state, info).await?;
    match run_profile_now(&state.store, &*state.clock, &profile, &manual_worker_id("web"), opts).await {
        Ok(result) => result.map_err(from_sync),
        Err(e @ ServiceError::ProfileBusy { .. }) => {
            Err(WebError::Conflict(format!("{e}; nothing was done, try again shortly")))
        }
        Err(ServiceError::Sync(e)) => Err(from_sync(e)),
        Err(ServiceError::Store(e)) => Err(WebError::Store(e)),
        Err(e) => Err(WebError::Failed {
            transient: false,
            message: e.to_string(),
        }),
    }
}

/// A run's outcome and report, as the pages after a button show it.
pub fn run_summary(report: &crmsync_sync::RunReport) -> Markup {
    html! {
        @let outcome = RunState::from(report.outcome).to_string();
        p { "Outcome: " strong data-outcome=(outcome) { (outcome) } }
        pre { (report.to_string()) }
    }
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    collection: String,
}

/// R-RESET-1: forgets one collection's pairs (never data).
pub async fn reset(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<ResetForm>,
) -> Result<Markup, WebError> {
    let info = visible_profile(&state, &posted.signed_in, &name).await?;
    let collection = posted.fields.collection;
    check_collection(&collection).map_err(WebError::BadForm)?;
    let scope = ResetScope {
        collection: Some(collection.clone()),
        record_id: None,
    };
    let forgotten = reset_pairs(&state.store.sync_state(), &info.name, &scope)
        .await
        .map_err(from_sync)?;
    Ok(done(
        &posted.signed_in,
        &format!("Reset {} of {}", collection, info.name),
        html! { p { "Forgot " (forgotten) " pair(s); no data was deleted. The next run pairs the items again without duplicates." } },
    ))
}
