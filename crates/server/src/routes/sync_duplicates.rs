//! `POST /sync/profiles/{name}/duplicates/link` and `…/keep-apart`: resolve
//! a group of the duplicates report by choice (R-PAIR-2, R-OPS-16).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::routes::sync_access::visible_profile;
use crate::state::AppState;
use crate::store_error::from_store;
use crate::sync::duplicates_resolve::{keep_apart as keep_group_apart, link as link_pair};
use crate::sync::{DuplicatesResolution, ResolveDuplicatesError};

/// A CRM record and a groupware item of one reported group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// `contacts`, `calendar` or `tasks`.
    pub collection: String,
    pub record_id: String,
    pub href: String,
}

/// Any record id or href of a reported group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepApartBody {
    /// `contacts`, `calendar` or `tasks`.
    pub collection: String,
    pub member: String,
}

fn from_resolve(e: ResolveDuplicatesError) -> ApiError {
    match e {
        ResolveDuplicatesError::UnknownCollection(m) => ApiError::bad_request(Some("collection".into()), m),
        e @ (ResolveDuplicatesError::NotInReport { .. } | ResolveDuplicatesError::AlreadyPaired { .. }) => {
            ApiError::Conflict(e.to_string())
        }
        ResolveDuplicatesError::Store(e) => from_store(e),
    }
}

/// R-PAIR-2: the record and the item of a reported group are the same:
/// pair them; the next sync merges them as at a first sync (R-ENG-7).
#[utoipa::path(post, path = "/api/v1/sync/profiles/{name}/duplicates/link", operation_id = "linkSyncDuplicates", tag = "sync",
    params(("name" = String, Path)),
    request_body = LinkBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DuplicatesResolution),
        (status = 400, description = "Malformed body or unknown collection", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 409, description = "No reported group holds both, or one of them is paired already", body = ErrorBody),
    ))]
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<DuplicatesResolution>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let body: LinkBody = body.parse()?;
    link_pair(
        &state.store.sync_state(),
        &info.name,
        &body.collection,
        &body.record_id,
        &body.href,
    )
    .await
    .map(Json)
    .map_err(from_resolve)
}

/// R-PAIR-2: the records and items of a reported group are different ones:
/// matching never joins them again, each syncs on its own.
#[utoipa::path(post, path = "/api/v1/sync/profiles/{name}/duplicates/keep-apart", operation_id = "keepSyncDuplicatesApart", tag = "sync",
    params(("name" = String, Path)),
    request_body = KeepApartBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DuplicatesResolution),
        (status = 400, description = "Malformed body or unknown collection", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 409, description = "No reported group holds the member", body = ErrorBody),
    ))]
pub async fn keep_apart(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<DuplicatesResolution>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let body: KeepApartBody = body.parse()?;
    keep_group_apart(&state.store.sync_state(), &info.name, &body.collection, &body.member)
        .await
        .map(Json)
        .map_err(from_resolve)
}
