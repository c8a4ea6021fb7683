//! The Graph connector's errors and how each becomes a [`ConnectorError`].

use std::time::Duration;

use crmsync_connector::{ConnectorError, Href};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GraphError {
    #[error("invalid Graph setting {key}: {reason}")]
    InvalidSetting { key: &'static str, reason: String },

    /// The token endpoint refused the app (wrong secret, unknown tenant, ...).
    /// The message is the endpoint's error code and description; never the secret.
    #[error("the token endpoint refused the app: {0}")]
    Token(String),

    /// A delegated sign-in that failed or is needed (R-GRAPH-31, R-GRAPH-32):
    /// what happened and what to run; never a token.
    #[error("{0}")]
    SignIn(String),

    /// The store of the delegated refresh token failed (R-GRAPH-32).
    #[error("the stored Graph sign-in could not be read or written: {0}")]
    Vault(String),

    #[error("request to Graph failed: {0}")]
    Http(#[from] reqwest::Error),

    /// A reply other than success, with Graph's error code.
    #[error("Graph answered {status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error("Graph answered something unexpected: {0}")]
    InvalidResponse(String),

    /// A series' exception or cancellation Graph cannot hold (R-GRAPH-20).
    #[error("{0}")]
    Occurrence(String),

    /// A host the profile may not reach (R-SEC-1), or one that does not resolve.
    #[error("{0}")]
    Reach(ConnectorError),

    /// Two messages of one folder poll map onto one UID (R-GRAPH-43): the
    /// runner could not tell them apart, so the folder is not tracked
    /// rather than one of them silently left out. Permanent: the same ids
    /// give the same UIDs on every run.
    #[error(
        "messages {first} and {second} of mail folder {folder} share UID {uid}, so crmsync cannot tell them apart; \
         the folder is not tracked until one of them leaves it (R-GRAPH-43)"
    )]
    UidCollision {
        folder: String,
        first: String,
        second: String,
        uid: u64,
    },
}

impl GraphError {
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            GraphError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A delta state token the server no longer knows: resync
    /// (https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset).
    pub(crate) fn is_sync_reset(&self) -> bool {
        match self {
            GraphError::Status { status: 410, .. } => true,
            GraphError::Status { code, .. } => {
                code.eq_ignore_ascii_case("syncStateNotFound") || code.eq_ignore_ascii_case("resyncRequired")
            }
            _ => false,
        }
    }

    /// The connector error for a call about `href` (for 404/412 of an item).
    pub(crate) fn for_item(self, href: &Href) -> ConnectorError {
        match self.status() {
            Some(404) => ConnectorError::NotFound { what: href.to_string() },
            Some(412) => ConnectorError::PreconditionFailed { href: href.clone() },
            _ => self.into(),
        }
    }
}

impl From<GraphError> for ConnectorError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Reach(e) => e,
            e => e.to_connector_error(),
        }
    }
}

impl GraphError {
    /// The connector error for this one, without consuming it: a `$batch`
    /// that failed as a whole gives each of its requests the same error.
    pub(crate) fn to_connector_error(&self) -> ConnectorError {
        match self {
            GraphError::InvalidSetting { .. } | GraphError::Occurrence(_) | GraphError::UidCollision { .. } => {
                ConnectorError::Unsupported { what: self.to_string() }
            }
            GraphError::Token(detail) => ConnectorError::Unauthorized { detail: detail.clone() },
            GraphError::SignIn(detail) => ConnectorError::Unauthorized { detail: detail.clone() },
            // The database may be back at the next run.
            GraphError::Vault(_) => ConnectorError::Unreachable {
                detail: self.to_string(),
            },
            GraphError::Http(err) if err.is_timeout() => ConnectorError::Timeout {
                detail: err.to_string(),
            },
            // A reply cut off while it was read is a lost connection, too.
            GraphError::Http(err) if err.is_connect() || err.is_request() || err.is_body() => {
                ConnectorError::Unreachable {
                    detail: err.to_string(),
                }
            }
            GraphError::Http(err) => ConnectorError::InvalidResponse {
                detail: err.to_string(),
            },
            GraphError::InvalidResponse(detail) => ConnectorError::InvalidResponse { detail: detail.clone() },
            GraphError::Reach(ConnectorError::NotAllowed { detail }) => {
                ConnectorError::NotAllowed { detail: detail.clone() }
            }
            GraphError::Reach(other) => ConnectorError::Unreachable {
                detail: other.to_string(),
            },
            GraphError::Status {
                status,
                code,
                message,
                retry_after,
            } => match status {
                401 => ConnectorError::Unauthorized {
                    detail: format!("{code}: {message}"),
                },
                403 => ConnectorError::Forbidden {
                    detail: format!("{code}: {message}"),
                },
                404 => ConnectorError::NotFound {
                    what: format!("{code}: {message}"),
                },
                412 => ConnectorError::PreconditionFailed {
                    href: Href::new(message.clone()),
                },
                429 => ConnectorError::RateLimited {
                    retry_after: *retry_after,
                },
                _ => ConnectorError::Server {
                    status: *status,
                    message: format!("{code}: {message}"),
                },
            },
        }
    }

    /// A write that failed this way may or may not have been performed: the
    /// request went out and its answer was lost (time-out, a connection cut
    /// after sending, an unreadable reply) or the server failed midway
    /// (500, 502, 504). A 503 or 429 says it was not performed; a refused
    /// connection that nothing was sent.
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            GraphError::Http(err) => !err.is_connect() && !err.is_builder(),
            GraphError::InvalidResponse(_) => true,
            GraphError::Status { status, .. } => matches!(status, 500 | 502 | 504),
            _ => false,
        }
    }
}
