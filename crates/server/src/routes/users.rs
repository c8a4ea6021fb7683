//! User management. Everyone may list and read users (names for participants);
//! only admins create and delete users or change roles (R-PERM-2); a user may
//! edit their own name and e-mail and rotate their own token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use crmsync_model::{Record, UserFields, Validate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::paging::{ListParams, PageBody};
use crate::routes::records::{self, RecordResponse, load_readable};
use crate::state::AppState;
use crate::store_error::from_store;

/// A new user and their API token. The token is shown this once: the store
/// keeps only its hash.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    pub user: Record<UserFields>,
    pub token: String,
}

/// A freshly issued token; the previous one no longer works.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    pub token: String,
}

impl std::fmt::Debug for CreatedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedUser")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("token", &"<redacted>").finish()
    }
}

/// Lists all users.
#[utoipa::path(get, path = "/api/v1/users", operation_id = "listUsers", tag = "users", params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PageBody<Record<UserFields>>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<PageBody<Record<UserFields>>>, ApiError> {
    records::list_records::<UserFields>(&state, &caller, params).await
}

/// Creates a user (admin only) and returns their token once.
#[utoipa::path(post, path = "/api/v1/users", operation_id = "createUser", tag = "users", request_body = UserFields,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedUser),
        (status = 400, description = "Malformed JSON or a value of the wrong type", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "A user of that name exists, ignoring case (R-API-16)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    caller.require_admin()?;
    // As any record body: `version` and `owner_id` are read (and checked)
    // apart; a new user owns itself, so neither is used.
    let fields: UserFields = body.record::<UserFields>()?.fields;
    fields.validate()?;
    let (user, token) = state.store.records().create_user(fields).await.map_err(from_store)?;
    Ok((StatusCode::CREATED, Json(CreatedUser { user, token })))
}

/// Reads one user.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "getUser", tag = "users", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Record<UserFields>, headers(("ETag" = String))),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<RecordResponse<UserFields>, ApiError> {
    records::get_record::<UserFields>(&state, &caller, &id).await
}

/// A user who is not an admin may change their own name and e-mail, but
/// neither their role nor whether they are active (R-API-7).
fn self_service_check(caller: &Caller) -> impl FnOnce(&Record<UserFields>, &UserFields) -> Result<(), ApiError> + '_ {
    move |current, new| {
        if caller.is_admin() {
            return Ok(());
        }
        if new.role != current.fields.role || new.active != current.fields.active {
            return Err(ApiError::forbidden(
                "only an admin may change a user's role or active flag",
            ));
        }
        Ok(())
    }
}

/// Updates a user (admin, or the user themself without role/active changes).
#[utoipa::path(put, path = "/api/v1/users/{id}", operation_id = "updateUser", tag = "users", request_body = UserFields,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\"")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Record<UserFields>, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON or a value of the wrong type", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin and not yourself, or a role change", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Stale version, or another user has the new name (R-API-16); nothing changed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
        (status = 428, description = "No version sent", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<RecordResponse<UserFields>, ApiError> {
    records::update_record_with::<UserFields>(&state, &caller, &id, &headers, body, self_service_check(&caller)).await
}

/// Deletes a user (admin only; `If-Match` required).
#[utoipa::path(delete, path = "/api/v1/users/{id}", operation_id = "deleteUser", tag = "users",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "\"<version>\"")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Stale version, or the user still owns records", body = ErrorBody),
        (status = 428, description = "No If-Match sent", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    load_readable::<UserFields>(&state, &caller, &id).await?;
    caller.require_admin()?;
    records::delete_record::<UserFields>(&state, &caller, &id, &headers).await
}

/// Issues a new token for the user (admin, or the user themself); the old one stops working.
#[utoipa::path(post, path = "/api/v1/users/{id}/token", operation_id = "rotateUserToken", tag = "users", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = IssuedToken),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin and not yourself", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn rotate_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IssuedToken>, ApiError> {
    records::load_writable::<UserFields>(&state, &caller, &id).await?;
    let token = state.store.records().rotate_token(&id).await.map_err(from_store)?;
    Ok(Json(IssuedToken { token }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_tokens() {
        let issued = IssuedToken {
            token: "crm_secret".into(),
        };
        assert!(!format!("{issued:?}").contains("crm_secret"));
    }
}
