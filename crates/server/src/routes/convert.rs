//! `POST /activities/{id}/convert` (R-TRACK-3): a tracked e-mail, appointment
//! or task becomes an opportunity, lead or case, which the activity then
//! regards. The store creates the record and links it in one transaction.
//!
//! Order of checks, as on every record route: 401, the caller may read the
//! activity (404) and change it (403), the body (400), the new record's
//! values (422), a version was sent (428); then the store: an earlier
//! conversion to this kind is answered again (200), another regarding is a
//! conflict (409), a stale version is a conflict (409).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use crmsync_model::{ActivityFields, Record, RecordRef};
use crmsync_ops::convert::{self as ops, ConvertError, ConvertRequest};
use crmsync_store::Conversion;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::precondition::{etag, expected_version};
use crate::routes::records::owner_for_new;
use crate::state::AppState;
use crate::store_error::from_store;

/// The record the activity was converted into, and the activity now regarding it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConvertResult {
    /// The new (or, on a repeated conversion, the earlier) record.
    pub record: RecordRef,
    /// Whether this request created it.
    pub created: bool,
    pub activity: Record<ActivityFields>,
}

type ConvertResponse = (
    StatusCode,
    [(axum::http::HeaderName, axum::http::HeaderValue); 1],
    Json<ConvertResult>,
);

/// Converts the activity into an opportunity, lead or case and sets its
/// regarding to it; send the activity's version as `If-Match` or `version`.
/// Repeating a conversion that succeeded answers 200 with the same record.
#[utoipa::path(post, path = "/api/v1/activities/{id}/convert", operation_id = "convertActivity", tag = "activities",
    request_body = ConvertRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" of the activity")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ConvertResult, description = "Converted; the `ETag` is the activity's new version", headers(("ETag" = String))),
        (status = 200, body = ConvertResult, description = "Already converted into this kind by an earlier request: nothing changed", headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON or a value of the wrong type", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Readable but not the caller's, or `owner_id` names someone else", body = ErrorBody),
        (status = 404, description = "No such activity the caller may read, or `owner_id` names no user", body = ErrorBody),
        (status = 409, description = "Stale version, or the activity already regards another record (send `replace_regarding`); nothing changed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The new record would be invalid (e.g. a lead without a name: send `fields.last_name`); nothing changed", body = ErrorBody),
        (status = 428, description = "No version sent", body = ErrorBody),
    ))]
pub async fn convert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<ConvertResponse, ApiError> {
    let actor = caller.actor();
    let activity = ops::convertible(&state.store, &actor, &id)
        .await
        .map_err(from_convert)?;
    let parsed = body.record::<ConvertRequest>()?;
    let owner = owner_for_new(&caller, parsed.owner_id)?;
    let prepared = ops::prepare(&state.store, activity, parsed.fields)
        .await
        .map_err(from_convert)?;
    let expected = expected_version(&headers, parsed.version)?;
    let outcome = prepared
        .commit(&state.store, expected, &owner)
        .await
        .map_err(from_store)?;
    let (status, activity, record, created) = match outcome {
        Conversion::Created { activity, target } => (StatusCode::CREATED, activity, target, true),
        Conversion::Existing { activity, target } => (StatusCode::OK, activity, target, false),
    };
    Ok((
        status,
        etag(activity.meta.version),
        Json(ConvertResult {
            record,
            created,
            activity,
        }),
    ))
}

fn from_convert(e: ConvertError) -> ApiError {
    let text = e.to_string();
    match e {
        ConvertError::NotFound(_) => ApiError::NotFound("activity"),
        ConvertError::Forbidden => ApiError::forbidden(text),
        ConvertError::BadValue { field, message } => ApiError::bad_request(Some(field), message),
        ConvertError::Invalid { field, message } => ApiError::Unprocessable { field, message },
        ConvertError::Store(e) => from_store(e),
    }
}
