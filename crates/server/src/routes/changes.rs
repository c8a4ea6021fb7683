//! `/changes?since=N`: the change log, filtered to what the caller may read.

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use crmsync_model::{
    Access, AccountFields, ActivityFields, CaseFields, Change, ChangeOp, ContactFields, EntityKind, LeadFields,
    OpportunityFields, Record,
};
use crmsync_store::{Entity, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::state::AppState;
use crate::store_error::from_store;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// Return changes with a sequence number greater than this (default 0: from the start).
    // Read as text so that a bad value is our 400; documented as what it must be.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub since: Option<String>,
    /// How many log entries to examine, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ChangesParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<ChangesParams>::try_from_uri(&parts.uri)
            .map(|Query(p)| p)
            .map_err(|e| ApiError::bad_request(None, e.body_text()))
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Pass as `since` next time. It moves past entries the caller may not
    /// see too, so hidden changes are not examined again.
    pub next_since: i64,
}

fn parse_number<T: std::str::FromStr>(
    field: &str,
    text: Option<&str>,
    default: T,
    ok: impl Fn(&T) -> bool,
) -> Result<T, ApiError> {
    match text {
        None => Ok(default),
        Some(t) => t.parse::<T>().ok().filter(|v| ok(v)).ok_or_else(|| {
            ApiError::bad_request(Some(field.to_owned()), format!("`{t}` is out of range or not a number"))
        }),
    }
}

async fn readable<F>(state: &AppState, caller: &Caller, id: &str) -> Result<bool, ApiError>
where
    F: Entity,
    Record<F>: Access,
{
    match state.store.records().get::<F>(id).await {
        Ok(record) => Ok(record.readable_by(&caller.actor())),
        // Deleted after this change was logged: nothing left to read.
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(from_store(e)),
    }
}

/// May the caller see this change? Decided on the record as it is now
/// (R-API-8): an admin sees all, an owner their own records' changes
/// (tombstones included), everyone the users; for the rest the record must
/// still exist and be readable, so a deleted private record leaks nothing.
async fn visible(state: &AppState, caller: &Caller, change: &Change) -> Result<bool, ApiError> {
    if caller.is_admin() || change.owner_id == caller.id() || change.entity == EntityKind::User {
        return Ok(true);
    }
    if change.op == ChangeOp::Delete {
        return Ok(false);
    }
    let id = change.record_id.as_str();
    match change.entity {
        EntityKind::Account => readable::<AccountFields>(state, caller, id).await,
        EntityKind::Contact => readable::<ContactFields>(state, caller, id).await,
        EntityKind::Lead => readable::<LeadFields>(state, caller, id).await,
        EntityKind::Activity => readable::<ActivityFields>(state, caller, id).await,
        EntityKind::Opportunity => readable::<OpportunityFields>(state, caller, id).await,
        EntityKind::Case => readable::<CaseFields>(state, caller, id).await,
        EntityKind::User => Ok(true),
    }
}

/// Changes after `since` that the caller may read, in sequence order.
#[utoipa::path(get, path = "/api/v1/changes", operation_id = "listChanges", tag = "changes", params(ChangesParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ChangesPage),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: ChangesParams,
) -> Result<Json<ChangesPage>, ApiError> {
    let since = parse_number::<i64>("since", params.since.as_deref(), 0, |v| *v >= 0)?;
    let limit = parse_number::<u32>("limit", params.limit.as_deref(), DEFAULT_LIMIT, |v| {
        (1..=MAX_LIMIT).contains(v)
    })?;
    let log = state
        .store
        .records()
        .changes_since(since, limit)
        .await
        .map_err(from_store)?;
    let mut next_since = since;
    let mut changes = Vec::new();
    for change in log {
        next_since = next_since.max(change.seq);
        if visible(&state, &caller, &change).await? {
            changes.push(change);
        }
    }
    Ok(Json(ChangesPage { changes, next_since }))
}
