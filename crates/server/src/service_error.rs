//! How the service's errors reach the client. Service messages never carry
//! credentials (R-SVC-7), so they may be shown; store details stay in the log.

use crmsync_service::ServiceError;

use crate::error::ApiError;
use crate::store_error::from_store;

pub fn from_service(err: ServiceError) -> ApiError {
    match err {
        ServiceError::Store(e) => from_store(e),
        ServiceError::ProfileNotFound(_) => ApiError::NotFound("profile"),
        ServiceError::InvalidField { field, message, .. } => ApiError::bad_request(Some(field), message),
        ServiceError::InvalidProfile { message, .. } => ApiError::bad_request(None, message),
        // R-PERM-1: the message says which entity, direction and right.
        ServiceError::Permission { source, .. } => ApiError::forbidden(format!("R-PERM-1: {source}")),
        ServiceError::Forbidden(message) => ApiError::Forbidden(message),
        e @ (ServiceError::ProfileExists(_) | ServiceError::ManagedByConfig(_)) => ApiError::Conflict(e.to_string()),
        ServiceError::ProfileVersion { expected, .. } => ApiError::VersionConflict { expected },
        // The operator must set a key; the client can only send no credentials.
        e @ ServiceError::NoSecurityKey { .. } => ApiError::Unprocessable {
            field: "connector".into(),
            message: e.to_string(),
        },
        e @ (ServiceError::UnknownUser { .. } | ServiceError::UnknownConnectorKind { .. }) => {
            ApiError::bad_request(None, e.to_string())
        }
        e if e.is_transient() => ApiError::Unavailable(e.to_string()),
        e => ApiError::Internal(e.to_string()),
    }
}
