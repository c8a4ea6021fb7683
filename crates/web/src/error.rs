//! Why a page could not be shown or a form not applied, as a page that says
//! what to do. Statuses are the API's for the same cause.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use crmsync_service::ServiceError;
use crmsync_store::StoreError;
use maud::html;

use crate::pages::layout;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No live session: the browser is sent to the sign-in page.
    #[error("sign in first")]
    SignInNeeded,
    /// R-WEB-2: a form without this session's CSRF token.
    #[error(
        "this form did not come from your current dashboard session (its security token is missing or old), so \
         nothing was done; go back, reload the page and submit again"
    )]
    Csrf,
    #[error("the form could not be read: {0}")]
    BadForm(String),
    /// No such thing the user may see (another user's answers the same, R-OPS-2).
    #[error("no such {0} (or not yours to see)")]
    NotFound(&'static str),
    /// The request conflicts with the current state; the text says what to do.
    #[error("{0}")]
    Conflict(String),
    /// Not allowed for this user (R-PERM-1, a vdir as non-admin, …); the
    /// text says why.
    #[error("{0}")]
    Forbidden(String),
    /// The groupware or the profile failed; the text says what to do.
    #[error("{message}")]
    Failed { message: String, transient: bool },
    #[error("the CRM database: {0}")]
    Store(#[from] StoreError),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::SignInNeeded => StatusCode::SEE_OTHER,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadForm(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Failed { transient: true, .. } => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Failed { transient: false, .. } => StatusCode::BAD_GATEWAY,
            WebError::Store(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
            WebError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user can do about it, in words.
    fn advice(&self) -> &'static str {
        match self {
            WebError::Failed { transient: true, .. } => "This may pass: try again in a moment.",
            WebError::Store(e) if e.is_transient() => "The database is busy or unreachable: try again in a moment.",
            WebError::Store(_) => "Retrying will not help: tell the administrator (the server log has the details).",
            _ => "",
        }
    }
}

/// A service error as the page shows it, with the API's status for the
/// same cause. Service messages carry no credentials (R-SVC-7).
impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => WebError::Store(e),
            ServiceError::ProfileNotFound(_) => WebError::NotFound("sync profile"),
            e @ (ServiceError::InvalidField { .. }
            | ServiceError::InvalidProfile { .. }
            | ServiceError::UnknownUser { .. }
            | ServiceError::UnknownConnectorKind { .. }
            | ServiceError::NoSecurityKey { .. }) => WebError::BadForm(e.to_string()),
            ServiceError::Permission { source, .. } => WebError::Forbidden(format!("R-PERM-1: {source}")),
            ServiceError::Forbidden(message) => WebError::Forbidden(message),
            e @ (ServiceError::ProfileExists(_)
            | ServiceError::ManagedByConfig(_)
            | ServiceError::ProfileVersion { .. }) => WebError::Conflict(e.to_string()),
            e => WebError::Failed {
                transient: e.is_transient(),
                message: e.to_string(),
            },
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if matches!(self, WebError::SignInNeeded) {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, "/sign-in")]).into_response();
        }
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "dashboard request failed");
        }
        let body = html! {
            h1 { (status.canonical_reason().unwrap_or("Error")) }
            p.error role="alert" { (self.to_string()) }
            @let advice = self.advice();
            @if !advice.is_empty() { p { (advice) } }
            p { a href="/" { "Back to the dashboard" } }
        };
        (status, layout::page("Something went wrong", None, body)).into_response()
    }
}
