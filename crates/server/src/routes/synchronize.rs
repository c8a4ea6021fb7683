//! `/contacts/{id}/synchronize`: the caller's own *synchronize* flag on a
//! contact they may read (R-FILTER-1 syncs flagged contacts to that user).
//! The flag is per user, so setting it is not a change of the contact and
//! needs no version.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use crmsync_model::ContactFields;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::routes::records::load_readable;
use crate::state::AppState;
use crate::store_error::from_store;

async fn set(state: &AppState, caller: &Caller, id: &str, on: bool) -> Result<StatusCode, ApiError> {
    load_readable::<ContactFields>(state, caller, id).await?;
    state
        .store
        .records()
        .set_sync_flag(caller.id(), id, on)
        .await
        .map_err(from_store)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Flags the contact for synchronization to the caller's groupware.
#[utoipa::path(put, path = "/api/v1/contacts/{id}/synchronize", operation_id = "enableContactSynchronize", tag = "contacts",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Flag set"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such contact the caller may read", body = ErrorBody),
    ))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &caller, &id, true).await
}

/// Clears the caller's synchronize flag on the contact.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}/synchronize", operation_id = "disableContactSynchronize", tag = "contacts",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Flag cleared"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such contact the caller may read", body = ErrorBody),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &caller, &id, false).await
}
