//! `POST /sync/profiles/{name}/quarantine/retry`: the next run reads
//! quarantined items again although they did not change (R-WEB-14).

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
use crate::sync::{RetryError, RetryReport, RetryScope, retry_quarantined};

/// One quarantined item (`collection` and `href` both), or, with neither,
/// every quarantined item of the profile.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    /// `contacts`, `calendar` or `tasks`, as the status lists it.
    #[serde(default)]
    pub collection: Option<String>,
    /// The item's href, as the status lists it.
    #[serde(default)]
    pub href: Option<String>,
}

/// R-WEB-14: marks the items so the next run reads them again; recorded in
/// the history. Run the profile now with `POST …/run`.
#[utoipa::path(post, path = "/api/v1/sync/profiles/{name}/quarantine/retry", operation_id = "retrySyncQuarantine", tag = "sync",
    params(("name" = String, Path)),
    request_body = RetryBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RetryReport),
        (status = 400, description = "Malformed body, or only one of collection and href", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see, or no such quarantined item", body = ErrorBody),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<RetryReport>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let body: RetryBody = body.parse()?;
    let scope = match (body.collection.as_deref(), body.href.as_deref()) {
        (Some(collection), Some(href)) => RetryScope::Item { collection, href },
        (None, None) => RetryScope::All,
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::bad_request(
                None,
                "give both collection and href (one item) or neither (every quarantined item)",
            ));
        }
    };
    retry_quarantined(&state.store.sync_state(), &info.name, scope)
        .await
        .map(Json)
        .map_err(|e| match e {
            RetryError::NotQuarantined { .. } => ApiError::NotFound("quarantined item"),
            RetryError::Store(e) => from_store(e),
        })
}
