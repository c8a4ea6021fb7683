//! `POST /sync/profiles/{name}/untrack` (R-DEL-13): stop syncing one record,
//! keeping it in the CRM or deleting it there, as the caller chooses.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::routes::sync_access::{from_sync, visible_profile};
use crate::state::AppState;
use crate::sync::{UntrackError, UntrackReport, stop_tracking};

/// Which record to stop syncing, and whether the CRM record goes too. The
/// choice has no default: the caller must make it (R-DEL-13).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UntrackBody {
    pub record_id: String,
    /// `true`: delete the CRM record as well (only its owner may);
    /// `false`: keep it.
    pub delete_in_crm: bool,
}

/// What untracking did: the pair is unlinked (nothing syncs until a reset),
/// the groupware item stays.
#[derive(Debug, Serialize, ToSchema)]
pub struct UntrackView {
    pub profile: String,
    pub record_id: String,
    pub collection: String,
    /// The groupware item, which stays.
    pub href: String,
    pub deleted_in_crm: bool,
}

impl From<UntrackReport> for UntrackView {
    fn from(r: UntrackReport) -> Self {
        UntrackView {
            profile: r.profile,
            record_id: r.record_id,
            collection: r.collection,
            href: r.href,
            deleted_in_crm: r.deleted_in_crm,
        }
    }
}

/// R-DEL-13: stops syncing a record of the profile. The pair is unlinked
/// (a reset links it again); with `delete_in_crm` the CRM record is deleted
/// too, which only the record's owner may choose.
#[utoipa::path(post, path = "/api/v1/sync/profiles/{name}/untrack", operation_id = "untrackSyncRecord", tag = "sync",
    params(("name" = String, Path)),
    request_body = UntrackBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UntrackView),
        (status = 400, description = "Malformed body (`record_id` and `delete_in_crm` are required)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "`delete_in_crm` asked by someone who does not own the record", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see, or the profile does not sync the record", body = ErrorBody),
        (status = 409, description = "The CRM record changed meanwhile: it was untracked but kept; read it and delete it over the records API", body = ErrorBody),
        (status = 503, description = "Store unavailable; retry", body = ErrorBody),
    ))]
pub async fn untrack(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<UntrackView>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let body: UntrackBody = body.parse()?;
    match stop_tracking(
        &state.store,
        &info.name,
        &info.user_id,
        &body.record_id,
        body.delete_in_crm,
    )
    .await
    {
        Ok(report) => Ok(Json(report.into())),
        Err(UntrackError::NotTracked { .. }) => Err(ApiError::NotFound("tracked record")),
        Err(e @ UntrackError::NotOwner { .. }) => Err(ApiError::Forbidden(e.to_string())),
        Err(UntrackError::Sync(e)) => Err(from_sync(e)),
    }
}
