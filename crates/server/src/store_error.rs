//! How store failures reach the client: each `StoreError` becomes the API
//! error with the same meaning, and database details stay in the server log.

use crmsync_store::StoreError;

use crate::error::ApiError;

pub fn from_store(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound { entity, .. } => ApiError::NotFound(entity.as_str()),
        StoreError::VersionConflict { expected, .. } => ApiError::VersionConflict { expected },
        StoreError::Validation(v) => v.into(),
        StoreError::Conflict(message) => ApiError::Conflict(message),
        StoreError::Forbidden(message) => ApiError::Forbidden(message),
        other if other.is_transient() => ApiError::Unavailable(other.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}
