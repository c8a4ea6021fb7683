//! `/sync/conflicts`: held conflicts (R-EDIT-3 `manual`) and choosing a side.

use std::collections::BTreeMap;

use crate::sync::{
    ConflictChoice, holds_own_value, merged_fields_mismatch, resolve_conflict, resolve_conflict_editing,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use crmsync_model::FieldMap;
use crmsync_store::status::ConflictRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::routes::sync_access::{from_sync, ready, source, visible, visible_profile};
use crate::state::AppState;
use crate::store_error::from_store;
use crate::sync::ConflictView;

#[derive(Debug, Deserialize)]
pub struct ConflictsQuery {
    pub profile: Option<String>,
}

/// Open conflicts of the profiles the caller may see (or of one).
#[utoipa::path(get, path = "/api/v1/sync/conflicts", operation_id = "listSyncConflicts", tag = "sync",
    params(("profile" = Option<String>, Query, description = "Only this profile")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ConflictView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No sync profiles, or no such profile the caller may see", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ConflictsQuery>,
) -> Result<Json<Vec<ConflictView>>, ApiError> {
    let names: Vec<String> = match &query.profile {
        Some(name) => vec![visible_profile(&state, &caller, name).await?.name],
        None => visible(&state, &caller).await?.into_iter().map(|p| p.name).collect(),
    };
    let rows = state
        .store
        .sync_state()
        .open_conflicts(None)
        .await
        .map_err(from_store)?;
    Ok(Json(
        rows.into_iter()
            .filter(|c| names.contains(&c.profile))
            .map(ConflictView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveBody {
    /// `crm`, `groupware` or `merged`.
    pub take: String,
    /// With `merged`: the value to keep per conflicting field: the CRM's, the
    /// groupware's, or one of your own, which is written into the CRM record
    /// at once (validated as a CRM edit, only by someone who may change the
    /// record) and reaches the groupware at the next sync (R-EDIT-3-THIRD).
    /// Every conflicting field must be named, and only those: `null` keeps
    /// no value; a field left out is refused, never taken as "no value"
    /// (R-EDIT-3-MERGED-ALL).
    #[serde(default)]
    pub values: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resolved {
    pub id: String,
    pub take: String,
    /// What happens next, in words.
    pub next: String,
}

fn choice(conflict: &ConflictRow, body: ResolveBody) -> Result<ConflictChoice, ApiError> {
    match (body.take.as_str(), body.values) {
        ("merged", Some(values)) => {
            if let Some(wrong) = merged_fields_mismatch(conflict, values.keys().map(String::as_str)) {
                return Err(ApiError::bad_request(Some("values".to_string()), wrong));
            }
            let mut map = FieldMap::new();
            for (k, v) in values {
                map.set_opt(k, v);
            }
            Ok(ConflictChoice::Merged(map))
        }
        ("merged", None) => Err(ApiError::bad_request(
            Some("values".to_string()),
            "`merged` needs `values`: the value to keep per field",
        )),
        (other, _) => other
            .parse()
            .map_err(|m: String| ApiError::bad_request(Some("take".to_string()), m)),
    }
}

/// Chooses a side for a held conflict; the next sync writes it, with
/// preconditions, and records it in the history.
#[utoipa::path(post, path = "/api/v1/sync/conflicts/{id}/resolve", operation_id = "resolveSyncConflict", tag = "sync",
    params(("id" = String, Path)),
    request_body = ResolveBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Resolved),
        (status = 400, description = "Malformed body or unknown side", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "A value of one's own for a record the caller may not change", body = ErrorBody),
        (status = 404, description = "No such conflict the caller may see", body = ErrorBody),
        (status = 409, description = "Already resolved, or the CRM record changed since the conflict was recorded (nothing was changed)", body = ErrorBody),
        (status = 422, description = "A value of one's own that the CRM refuses (as for a CRM edit)", body = ErrorBody),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Resolved>, ApiError> {
    source(&state)?;
    let conflict = state
        .store
        .sync_state()
        .conflict(&id)
        .await
        .map_err(from_store)?
        .ok_or(ApiError::NotFound("conflict"))?;
    // A conflict of a profile the caller may not see is as missing (R-OPS-2).
    let info = match visible_profile(&state, &caller, &conflict.profile).await {
        Ok(info) => info,
        Err(ApiError::NotFound(_)) => return Err(ApiError::NotFound("conflict")),
        Err(e) => return Err(e),
    };
    let body: ResolveBody = body.parse()?;
    if conflict.resolved_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "conflict {id} is already resolved ({})",
            conflict.resolution.map_or("?", |r| r.as_str())
        )));
    }
    let take = body.take.clone();
    let choice = choice(&conflict, body)?;
    match &choice {
        // A merged value of the caller's own is written into the CRM as the
        // profile maps it (R-EDIT-3-THIRD); choosing between the two sides
        // only moves the pair's base and needs no profile.
        ConflictChoice::Merged(_) if holds_own_value(&conflict, &choice) => {
            let profile = ready(&state, &info).await?;
            resolve_conflict_editing(&state.store, &profile, &caller.actor(), &id, &choice).await
        }
        _ => resolve_conflict(&state.store.sync_state(), &id, &choice).await,
    }
    .map_err(from_sync)?;
    Ok(Json(Resolved {
        id,
        take,
        next: "the next sync writes the chosen values to the other side".into(),
    }))
}
