//! `/me`: who the token belongs to.

use axum::extract::State;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::routes::records::{self, RecordResponse};
use crate::state::AppState;
use crmsync_model::{Record, UserFields};

/// The caller's own user record.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "getMe", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Record<UserFields>, headers(("ETag" = String))),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<RecordResponse<UserFields>, ApiError> {
    let id = caller.id().to_owned();
    records::get_record::<UserFields>(&state, &caller, &id).await
}
