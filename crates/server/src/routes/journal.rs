//! Journal entries of contacts and activities (R-FIELD-5 puts them under the
//! notes separator). Readers of the record read its journal; only those who
//! may change the record add to it, and only admins write system entries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use crmsync_model::{
    Access, ActivityFields, ContactFields, JournalEntry, NewJournalEntry, Record, RecordRef, Validate,
};
use crmsync_store::Entity;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::routes::records::{load_readable, load_writable};
use crate::state::AppState;
use crate::store_error::from_store;

async fn list_for<F>(state: &AppState, caller: &Caller, id: &str) -> Result<Json<Vec<JournalEntry>>, ApiError>
where
    F: Entity,
    Record<F>: Access,
{
    load_readable::<F>(state, caller, id).await?;
    let record = RecordRef {
        entity: F::KIND,
        id: id.to_owned(),
    };
    Ok(Json(
        state
            .store
            .records()
            .journal_entries(&record)
            .await
            .map_err(from_store)?,
    ))
}

async fn add_to<F>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    body: JsonBody,
) -> Result<(StatusCode, Json<JournalEntry>), ApiError>
where
    F: Entity,
    Record<F>: Access,
{
    load_writable::<F>(state, caller, id).await?;
    let entry: NewJournalEntry = body.parse()?;
    entry.validate()?;
    // System entries claim to come from crmsync or the CRM itself (R-FIELD-5
    // keeps them out of groupware); a user must not forge them.
    if entry.system && !caller.is_admin() {
        return Err(ApiError::forbidden("only an admin may write system journal entries"));
    }
    let record = RecordRef {
        entity: F::KIND,
        id: id.to_owned(),
    };
    let saved = state
        .store
        .records()
        .add_journal_entry(&record, Some(caller.id()), entry)
        .await
        .map_err(from_store)?;
    Ok((StatusCode::CREATED, Json(saved)))
}

macro_rules! journal_routes {
    ($list:ident, $add:ident, $fields:ty, $tag:tt, $path:tt, $what:tt, $name:tt) => {
        #[doc = concat!("The journal of a ", $what, ", oldest first.")]
        #[utoipa::path(get, path = $path, operation_id = concat!("list", $name, "Journal"), tag = $tag, params(("id" = String, Path)),
            security(("bearer" = [])),
            responses(
                (status = 200, body = Vec<JournalEntry>),
                (status = 401, description = "Not authenticated", body = ErrorBody),
                (status = 404, description = "No such record the caller may read", body = ErrorBody),
            ))]
        pub async fn $list(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
        ) -> Result<Json<Vec<JournalEntry>>, ApiError> {
            list_for::<$fields>(&state, &caller, &id).await
        }

        #[doc = concat!("Adds an entry to the journal of a ", $what, ".")]
        #[utoipa::path(post, path = $path, operation_id = concat!("add", $name, "JournalEntry"), tag = $tag, request_body = NewJournalEntry,
            params(("id" = String, Path)),
            security(("bearer" = [])),
            responses(
                (status = 201, body = JournalEntry),
                (status = 400, description = "Malformed JSON or a value of the wrong type", body = ErrorBody),
                (status = 401, description = "Not authenticated", body = ErrorBody),
                (status = 403, description = "Readable but not the caller's, or a system entry", body = ErrorBody),
                (status = 404, description = "No such record the caller may read", body = ErrorBody),
                (status = 413, description = "Body too large", body = ErrorBody),
                (status = 415, description = "Not JSON", body = ErrorBody),
                (status = 422, description = "Empty text", body = ErrorBody),
            ))]
        pub async fn $add(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            body: JsonBody,
        ) -> Result<(StatusCode, Json<JournalEntry>), ApiError> {
            add_to::<$fields>(&state, &caller, &id, body).await
        }
    };
}

journal_routes!(
    list_contact,
    add_contact,
    ContactFields,
    "contacts",
    "/api/v1/contacts/{id}/journal",
    "contact",
    "Contact"
);
journal_routes!(
    list_activity,
    add_activity,
    ActivityFields,
    "activities",
    "/api/v1/activities/{id}/journal",
    "activity",
    "Activity"
);
