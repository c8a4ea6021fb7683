//! `/activities/{id}/participants`: the participant list on its own, so a
//! client can replace it without resending the whole activity. It shares the
//! activity's version: a change of the list is a change of the activity.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use crmsync_model::record::Id;
use crmsync_model::{ActivityFields, Participant, Validate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::precondition::{etag, expected_version};
use crate::routes::records::{load_readable, load_writable};
use crate::state::AppState;
use crate::store_error::from_store;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParticipantList {
    pub activity_id: Id,
    /// The activity's version; send it back as `If-Match` or `version` to replace the list.
    pub version: i64,
    pub participants: Vec<Participant>,
}

/// The body of a replacement.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipantsReplacement {
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub version: Option<i64>,
}

type ListResponse = (
    [(axum::http::HeaderName, axum::http::HeaderValue); 1],
    Json<ParticipantList>,
);

fn respond(id: Id, version: i64, participants: Vec<Participant>) -> ListResponse {
    (
        etag(version),
        Json(ParticipantList {
            activity_id: id,
            version,
            participants,
        }),
    )
}

/// The activity's participants.
#[utoipa::path(get, path = "/api/v1/activities/{id}/participants", operation_id = "getActivityParticipants", tag = "activities",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ParticipantList, headers(("ETag" = String))),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such activity the caller may read", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<ListResponse, ApiError> {
    let activity = load_readable::<ActivityFields>(&state, &caller, &id).await?;
    Ok(respond(
        activity.meta.id,
        activity.meta.version,
        activity.fields.participants,
    ))
}

/// Replaces the participant list (versioned like the activity).
#[utoipa::path(put, path = "/api/v1/activities/{id}/participants", operation_id = "replaceActivityParticipants", tag = "activities",
    request_body = ParticipantsReplacement,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\"")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ParticipantList, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON or a value of the wrong type", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Readable but not the caller's", body = ErrorBody),
        (status = 404, description = "No such activity the caller may read", body = ErrorBody),
        (status = 409, description = "Stale version; nothing changed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid participant", body = ErrorBody),
        (status = 428, description = "No version sent", body = ErrorBody),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<ListResponse, ApiError> {
    let current = load_writable::<ActivityFields>(&state, &caller, &id).await?;
    let replacement: ParticipantsReplacement = body.parse()?;
    let mut fields = current.fields;
    fields.participants = replacement.participants;
    fields.validate()?;
    let expected = expected_version(&headers, replacement.version)?;
    let updated = state
        .store
        .records()
        .update::<ActivityFields>(&id, expected, fields)
        .await
        .map_err(from_store)?;
    Ok(respond(
        updated.meta.id,
        updated.meta.version,
        updated.fields.participants,
    ))
}
