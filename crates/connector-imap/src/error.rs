//! Errors of setting up an IMAP connector. Errors of mail calls are the
//! shared [`crmsync_connector::ConnectorError`]; [`from_imap`] maps the
//! protocol library's errors onto it.

use crmsync_connector::ConnectorError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImapError {
    #[error("invalid setting {key}: {reason}")]
    InvalidSetting { key: &'static str, reason: String },

    /// The password or token names a variable or file that cannot be read.
    #[error("{0}")]
    Secret(String),
}

impl ImapError {
    pub fn hint(&self) -> &'static str {
        match self {
            ImapError::InvalidSetting { .. } => "fix the named setting of the profile's imap connector",
            ImapError::Secret(_) => "set the variable or make the file readable for crmsync",
        }
    }
}

/// A failed IMAP command: `NO`/`BAD` answers are the server refusing (the
/// text says why), I/O and a closed connection are the server being away.
pub(crate) fn from_imap(context: &str, e: async_imap::error::Error) -> ConnectorError {
    use async_imap::error::Error;
    match e {
        Error::Io(io) => ConnectorError::Unreachable {
            detail: format!("{context}: {io}"),
        },
        Error::ConnectionLost => ConnectorError::Unreachable {
            detail: format!("{context}: the server closed the connection"),
        },
        Error::No(text) => ConnectorError::Server {
            status: 0,
            message: format!("{context}: NO {text}"),
        },
        Error::Bad(text) => ConnectorError::InvalidResponse {
            detail: format!("{context}: BAD {text}"),
        },
        other => ConnectorError::InvalidResponse {
            detail: format!("{context}: {other}"),
        },
    }
}
