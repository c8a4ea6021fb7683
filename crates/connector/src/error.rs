//! The one error type every connector returns. Each variant answers two questions
//! the runner must decide on: can a retry help ([`ConnectorError::is_transient`]),
//! and what should the user do about it ([`ConnectorError::hint`]).

use std::io;
use std::time::Duration;

use thiserror::Error;

use crate::{CollectionKind, Href};

#[derive(Debug, Error)]
pub enum ConnectorError {
    /// The item's ETag no longer matches: someone changed it since it was read.
    #[error("{href} changed since it was read (ETag mismatch)")]
    PreconditionFailed { href: Href },

    /// A create found the name taken (possibly by our own earlier, interrupted write).
    #[error("{href} already exists")]
    AlreadyExists { href: Href },

    /// The item or collection does not exist. For `delete` this means "already done".
    #[error("not found: {what}")]
    NotFound { what: String },

    #[error("authentication failed: {detail}")]
    Unauthorized { detail: String },

    #[error("permission denied: {detail}")]
    Forbidden { detail: String },

    #[error("cannot reach the server: {detail}")]
    Unreachable { detail: String },

    /// The administrator does not let this profile reach that address
    /// (R-SEC-1), or a redirect would downgrade or leave the origin (R-SEC-2).
    #[error("not allowed: {detail}")]
    NotAllowed { detail: String },

    #[error("timed out: {detail}")]
    Timeout { detail: String },

    #[error("rate limited by the server{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },

    #[error("server error {status}: {message}")]
    Server { status: u16, message: String },

    /// The server answered something this connector cannot understand.
    #[error("invalid response from the server: {detail}")]
    InvalidResponse { detail: String },

    /// The caller passed an href this connector never hands out (e.g. with a path
    /// separator in a vdir file name).
    #[error("invalid href {href:?}: {reason}")]
    InvalidHref { href: String, reason: String },

    /// A collection exists under that name but holds another kind of item.
    #[error("collection {collection} holds {found:?}, not {wanted:?}")]
    KindMismatch {
        collection: String,
        found: CollectionKind,
        wanted: CollectionKind,
    },

    /// The connector or server cannot do this (e.g. create collections).
    #[error("not supported: {what}")]
    Unsupported { what: String },

    /// A local I/O failure other than "not found" / "permission denied", which map
    /// to their own variants.
    #[error("I/O error {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl ConnectorError {
    /// Whether trying the same call again later can succeed without anyone
    /// changing anything. Preconditions and conflicts are *not* transient: the
    /// caller must re-read and re-plan, not repeat the same write.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectorError::Unreachable { .. }
            | ConnectorError::Timeout { .. }
            | ConnectorError::RateLimited { .. } => true,
            // 501 Not Implemented and 505 will not fix themselves; 423 Locked
            // passes when the other writer is done.
            ConnectorError::Server { status, .. } => {
                *status == 423 || ((500..600).contains(status) && *status != 501 && *status != 505)
            }
            ConnectorError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::Interrupted
                    | io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::StorageFull
                    | io::ErrorKind::ResourceBusy
            ),
            _ => false,
        }
    }

    /// The server refused this one item for good (it finds it invalid, too
    /// large, of a type it does not take), not the account or the request
    /// in general: the runner quarantines the item and goes on (R-SAFE-4).
    pub fn is_item_refusal(&self) -> bool {
        matches!(
            self,
            ConnectorError::Server {
                status: 400 | 413 | 415 | 422,
                ..
            }
        )
    }

    /// What the user (or administrator) should do about this error.
    pub fn hint(&self) -> &'static str {
        match self {
            ConnectorError::PreconditionFailed { .. } => {
                "nothing: the item was edited elsewhere meanwhile; the next sync re-reads and merges it"
            }
            ConnectorError::AlreadyExists { .. } => {
                "nothing: sync pairs the existing item instead of creating a duplicate"
            }
            ConnectorError::NotFound { .. } => {
                "check that the collection or folder still exists and the profile points at it"
            }
            ConnectorError::Unauthorized { .. } => "check the profile's user name and password or renew its token",
            ConnectorError::Forbidden { .. } => {
                "grant the sync account read/write access to the collection (or fix the folder's file permissions)"
            }
            ConnectorError::Unreachable { .. } => "check the server address and network; sync retries automatically",
            ConnectorError::NotAllowed { .. } => {
                "use the server's public address, or ask the administrator to add the host to [security] allowed_hosts"
            }
            ConnectorError::Timeout { .. } => "sync retries automatically; if it persists, check the server's load",
            ConnectorError::RateLimited { .. } => {
                "nothing: sync waits and retries; lengthen the pull interval if it recurs"
            }
            ConnectorError::Server { .. } => "sync retries server errors; if it persists, check the server's logs",
            ConnectorError::InvalidResponse { .. } => {
                "report it with the server's name and version: it answered in a way crmsync does not understand"
            }
            ConnectorError::InvalidHref { .. } => {
                "report it: crmsync asked for an item name the connector never produced"
            }
            ConnectorError::KindMismatch { .. } => {
                "point the profile at a collection of the right kind or choose another name"
            }
            ConnectorError::Unsupported { .. } => {
                "the message says what this server or setting cannot do: change the setting it names, create the collection by hand, or report it"
            }
            ConnectorError::Io { .. } => "check the disk (free space, health) and the folder's permissions",
        }
    }

    /// Maps a local I/O error, keeping "not found" and "permission denied" as
    /// their own variants so callers can act on them.
    pub fn from_io(context: impl Into<String>, source: io::Error) -> Self {
        let context = context.into();
        match source.kind() {
            io::ErrorKind::NotFound => ConnectorError::NotFound { what: context },
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => ConnectorError::Forbidden {
                detail: format!("{context}: {source}"),
            },
            _ => ConnectorError::Io { context, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_trouble_is_transient_and_preconditions_are_not() {
        assert!(ConnectorError::Timeout { detail: "x".into() }.is_transient());
        assert!(ConnectorError::Unreachable { detail: "x".into() }.is_transient());
        assert!(ConnectorError::RateLimited { retry_after: None }.is_transient());
        assert!(
            ConnectorError::Server {
                status: 503,
                message: "busy".into()
            }
            .is_transient()
        );
        assert!(
            !ConnectorError::Server {
                status: 501,
                message: "no".into()
            }
            .is_transient()
        );
        // Retrying the same conditional write can never succeed: it must be re-planned.
        assert!(!ConnectorError::PreconditionFailed { href: "a".into() }.is_transient());
        assert!(!ConnectorError::AlreadyExists { href: "a".into() }.is_transient());
        assert!(!ConnectorError::Unauthorized { detail: "x".into() }.is_transient());
        assert!(!ConnectorError::Forbidden { detail: "x".into() }.is_transient());
    }

    #[test]
    fn io_errors_map_to_actionable_variants() {
        let denied = ConnectorError::from_io("reading /v/a.vcf", io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(&denied, ConnectorError::Forbidden { detail } if detail.contains("/v/a.vcf")));
        assert!(denied.hint().contains("permissions"));
        let gone = ConnectorError::from_io("x", io::Error::from(io::ErrorKind::NotFound));
        assert!(matches!(gone, ConnectorError::NotFound { .. }));
        let busy = ConnectorError::from_io("x", io::Error::from(io::ErrorKind::Interrupted));
        assert!(busy.is_transient());
    }

    #[test]
    fn rate_limit_message_names_the_wait() {
        let e = ConnectorError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(e.to_string(), "rate limited by the server (retry after 30s)");
    }
}
