//! `/sync/status` and `/sync/profiles/{name}/…`: the operator surface of sync
//! (status, explain, reset, run, duplicates), the same as the CLI's commands.

use crate::sync::{ResetScope, explain_record, reset_pairs};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use crmsync_service::{ServiceError, manual_worker_id, retry_after_secs, run_profile_now};
use crmsync_sync::{RunOptions, run_profile};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::routes::sync_access::{from_sync, ready, visible, visible_profile};
use crate::service_error::from_service;
use crate::state::AppState;
use crate::store_error::from_store;
use crate::sync::status::ScheduleView;
use crate::sync::{DuplicatesReport, ProfileStatus, ResetReport, check_collection, explains_nothing, profile_status};

/// Every profile the caller may see: last run, counts, failures, conflicts,
/// quarantined items and duplicates.
#[utoipa::path(get, path = "/api/v1/sync/status", operation_id = "getSyncStatus", tag = "sync",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ProfileStatus>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "The server has no sync profiles", body = ErrorBody),
    ))]
pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ProfileStatus>>, ApiError> {
    let mut out = Vec::new();
    for p in visible(&state, &caller).await? {
        let mut status = profile_status(&state.store.sync_state(), &p.name, Some(&p.user_id))
            .await
            .map_err(from_store)?;
        // Next run, last run and state come from the stored profile, when there is one.
        let stored = state.service.catalog.view(&p.name).await.map_err(from_service)?;
        status.schedule = stored.as_ref().map(ScheduleView::from);
        out.push(status);
    }
    Ok(Json(out))
}

/// R-EXPLAIN-1: whether the record syncs for this profile, which filter, rule
/// and policy decided, what the next sync would do, and its history.
#[utoipa::path(get, path = "/api/v1/sync/profiles/{name}/explain/{record_id}", operation_id = "explainSyncRecord", tag = "sync",
    params(("name" = String, Path), ("record_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The explanation", body = serde_json::Value),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile or record the caller may see", body = ErrorBody),
        (status = 502, description = "The groupware refused (the message says what to do)", body = ErrorBody),
        (status = 503, description = "Store or groupware unavailable; retry", body = ErrorBody),
    ))]
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, record_id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    // A user learns nothing about records they may not read (R-API-2).
    if !caller.is_admin()
        && crate::sync::record_readable(&state.store, &caller.actor(), &record_id)
            .await
            .map_err(from_store)?
            == Some(false)
    {
        return Err(ApiError::NotFound("record"));
    }
    let profile = ready(&state, &info).await?;
    let explanation = explain_record(&state.store, &profile, &record_id, chrono::Utc::now())
        .await
        .map_err(from_sync)?;
    if explains_nothing(&explanation) {
        return Err(ApiError::NotFound("record"));
    }
    Ok(Json(
        serde_json::to_value(&explanation).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

/// What to forget; nothing named: the whole profile.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResetBody {
    /// `contacts`, `calendar` or `tasks`.
    #[serde(default)]
    pub collection: Option<String>,
    /// One CRM record.
    #[serde(default)]
    pub record_id: Option<String>,
}

/// R-RESET-1: forgets pairs and sync positions (never data); the next sync
/// re-pairs without duplicates.
#[utoipa::path(post, path = "/api/v1/sync/profiles/{name}/reset", operation_id = "resetSyncProfile", tag = "sync",
    params(("name" = String, Path)),
    request_body = ResetBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ResetReport),
        (status = 400, description = "Malformed body or unknown collection", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
    ))]
pub async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<ResetReport>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let body: ResetBody = body.parse()?;
    if let Some(c) = &body.collection {
        check_collection(c).map_err(|m| ApiError::bad_request(Some("collection".to_string()), m))?;
    }
    let scope = ResetScope {
        collection: body.collection.clone(),
        record_id: body.record_id.clone(),
    };
    let forgotten = reset_pairs(&state.store.sync_state(), &info.name, &scope)
        .await
        .map_err(from_sync)?;
    Ok(Json(ResetReport::new(
        &info.name,
        body.collection,
        body.record_id,
        forgotten,
    )))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RunBody {
    /// Plan and report, change nothing (R-SAFE-5).
    #[serde(default)]
    pub dry_run: bool,
    /// Apply a mass delete the guard held (R-SAFE-3).
    #[serde(default)]
    pub confirm_mass_delete: bool,
}

/// Runs the profile now and returns its report. A plan held by the
/// mass-delete guard is 200 with outcome `guarded`: send
/// `confirm_mass_delete: true` after checking it.
#[utoipa::path(post, path = "/api/v1/sync/profiles/{name}/run", operation_id = "runSyncProfile", tag = "sync",
    params(("name" = String, Path)),
    request_body = RunBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run report", body = serde_json::Value),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 409, description = "Another worker runs the profile now; nothing was done. Retry after `Retry-After` seconds", body = ErrorBody),
        (status = 502, description = "The groupware refused (the message says what to do)", body = ErrorBody),
        (status = 503, description = "Store or groupware unavailable; retry", body = ErrorBody),
    ))]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let body: RunBody = body.parse()?;
    let profile = ready(&state, &info).await?;
    let opts = RunOptions {
        dry_run: body.dry_run,
        confirm_mass_delete: body.confirm_mass_delete,
        ..RunOptions::default()
    };
    // A real run holds the profile's lease like a scheduled run (R-SCHED-3,
    // R-SVC-13); a dry-run writes nothing and takes none.
    let report = if body.dry_run {
        run_profile(&state.store, &profile, &opts).await
    } else {
        let clock = &*state.service.clock;
        let worker = manual_worker_id("api");
        match run_profile_now(&state.store, clock, &profile, &worker, &opts).await {
            Ok(result) => result,
            Err(ServiceError::ProfileBusy { profile, worker, until }) => {
                return Ok(busy(&profile, &worker, until, clock.now()));
            }
            Err(e) => return Err(from_service(e)),
        }
    }
    .map_err(from_sync)?;
    Ok(Json(serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.to_string()))?).into_response())
}

/// 409 with `Retry-After` (the holder's lease end): the profile runs on
/// another worker now and nothing was done (R-SVC-13).
fn busy(profile: &str, worker: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Response {
    let message = ServiceError::ProfileBusy {
        profile: profile.to_string(),
        worker: worker.to_string(),
        until,
    }
    .to_string();
    let mut response = ApiError::Conflict(message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(until, now)));
    response
}

/// R-PAIR-2: the latest duplicates report of each collection.
#[utoipa::path(get, path = "/api/v1/sync/profiles/{name}/duplicates", operation_id = "listSyncDuplicates", tag = "sync",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DuplicatesReport),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
    ))]
pub async fn duplicates(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DuplicatesReport>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    Ok(Json(
        crate::sync::duplicates::read(&state.store.sync_state(), &info.name)
            .await
            .map_err(from_store)?,
    ))
}
