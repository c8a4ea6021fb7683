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
        // R-SCHED-4: another worker took the profile over mid-run; its run
        // goes on there, so this is a conflict, not a server fault.
        e @ StoreError::Fenced { .. } => ApiError::Conflict(e.to_string()),
        other if other.is_transient() => ApiError::Unavailable(other.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    // R-SCHED-4: a manual run whose lease another worker took over is a
    // conflict the client can understand, not a 500.
    #[test]
    fn r_sched_4_a_fenced_write_is_a_conflict() {
        let e = from_store(StoreError::Fenced { profile: "anna".into() });
        assert_eq!(e.status(), StatusCode::CONFLICT);
    }
}
