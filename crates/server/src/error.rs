//! The API's one error type and its JSON form
//! `{ "error": { "code", "message", "field"?, "retryable" } }`.
//!
//! Every variant knows its HTTP status, a stable machine-readable `code`, and
//! whether repeating the same request may succeed (`retryable`), so that
//! clients can decide between "fix the request" and "try again later".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or an unknown bearer token. Permanent until the client sends a valid token.
    #[error("missing or invalid bearer token: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// Authenticated, but the caller may not do this (R-PERM-2).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there, or nothing the caller may read (R-API-2: no existence leak).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The route itself does not exist.
    #[error("no such route")]
    RouteNotFound,
    /// The `If-Match`/`version` the client sent is no longer current.
    #[error("the record changed since version {expected}; read it again and reapply your change")]
    VersionConflict { expected: i64 },
    /// A uniqueness rule of the store refused the write (e.g. an e-mail in use).
    #[error("{0}")]
    Conflict(String),
    /// A write without `If-Match` or `version` (R-API-4).
    #[error("send the version you read as `If-Match: \"<version>\"` or as `version` in the body")]
    PreconditionRequired,
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// Malformed JSON, a value of the wrong type, or a bad query/header value.
    #[error("{message}")]
    BadRequest { field: Option<String>, message: String },
    /// Well-formed but semantically invalid (model `Validate` failed).
    #[error("{message}")]
    Unprocessable { field: String, message: String },
    /// The database is unreachable or busy; the same request may succeed later.
    #[error("the store is temporarily unavailable; retry shortly")]
    Unavailable(String),
    /// The path exists, the method does not (the `Allow` header lists those that do).
    #[error("this method is not allowed here; the `Allow` header lists the ones that are")]
    MethodNotAllowed,
    #[error("request target longer than {limit} bytes")]
    UriTooLong { limit: usize },
    /// Too many push notifications; `Retry-After` says when the next one is taken (R-API-15).
    #[error("too many notifications; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A request axum's own extractors refused, with their status and words.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    /// A bug or a broken database; retrying will not help, the operator must look at the log.
    #[error("internal error; the server log has the details")]
    Internal(String),
    /// The server was started without a sync profile source (R-OPS-1).
    #[error("no sync profiles configured: add [[profile]] entries to the configuration and restart the server")]
    NoSyncProfiles,
    /// A sync run could not reach or use the profile's groupware; the message
    /// says what to do (wrong password, server unreachable, …). Transient
    /// ones are 503 and retryable, the rest 502.
    #[error("{message}")]
    Groupware { message: String, transient: bool },
}

impl ApiError {
    pub fn bad_request(field: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound | ApiError::NoSyncProfiles => StatusCode::NOT_FOUND,
            ApiError::VersionConflict { .. } | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Groupware { transient: true, .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Groupware { transient: false, .. } => StatusCode::BAD_GATEWAY,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::RouteNotFound => "route_not_found",
            ApiError::VersionConflict { .. } => "version_conflict",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unprocessable { .. } => "invalid_value",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::NoSyncProfiles => "no_sync_profiles",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Rejected { status, .. } if status.is_server_error() => "internal",
            ApiError::Rejected { .. } => "bad_request",
            ApiError::Groupware { transient: true, .. } => "groupware_unavailable",
            ApiError::Groupware { transient: false, .. } => "groupware_error",
        }
    }

    /// Whether sending the very same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::Unavailable(_) | ApiError::Groupware { transient: true, .. } | ApiError::TooManyRequests { .. }
        )
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } => field.as_deref(),
            ApiError::Unprocessable { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<crmsync_model::ValidationError> for ApiError {
    fn from(e: crmsync_model::ValidationError) -> Self {
        ApiError::Unprocessable {
            field: e.field,
            message: e.message,
        }
    }
}

/// The error envelope as it appears on the wire (and in the OpenAPI document).
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `version_conflict`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
    /// The JSON path of the offending field (`participants[0].party`), when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// True when the same request may succeed later (the store was unavailable).
    pub retryable: bool,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // Details of server-side failures go to the log, not to the client.
            ApiError::Internal(detail) => tracing::error!(%detail, "request failed"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "store unavailable"),
            _ => tracing::debug!(code = self.code(), "request refused"),
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
                field: self.field().map(str::to_owned),
                retryable: self.is_retryable(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"crmsync\""),
                );
            }
            ApiError::Unavailable(_) | ApiError::Groupware { transient: true, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(err: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let resp = err.into_response();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn unauthorized_carries_the_bearer_challenge() {
        let (status, headers, body) = parts(ApiError::Unauthorized).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(body["error"]["code"], "unauthorized");
        assert_eq!(body["error"]["retryable"], false);
    }

    // R-API-1: only a store outage is worth retrying, and the client is told when.
    #[tokio::test]
    async fn unavailable_is_retryable_503_and_hides_details() {
        let (status, headers, body) = parts(ApiError::Unavailable("pool timed out at db:5432".into())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "5");
        assert_eq!(body["error"]["retryable"], true);
        assert!(!body.to_string().contains("db:5432"), "server details stay in the log");
        let (_, _, body) = parts(ApiError::Internal("constraint xyz".into())).await;
        assert!(!body.to_string().contains("xyz"));
    }

    #[tokio::test]
    async fn field_errors_name_the_field() {
        let (status, _, body) =
            parts(crmsync_model::ValidationError::new("email1", "is not an e-mail address").into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "email1");
        let (_, _, body) = parts(ApiError::NotFound("contact")).await;
        assert!(body["error"].get("field").is_none());
    }
}
