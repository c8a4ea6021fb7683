//! Errors of setting up a DAV connector (configuration, credentials). Errors of
//! connector calls are the shared [`crmsync_connector::ConnectorError`].

use std::io;
use std::path::PathBuf;

use crmsync_connector::ConnectorError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DavError {
    #[error("invalid DAV server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error("the password environment variable {var} is not set")]
    PasswordEnvMissing { var: String },

    #[error("cannot read the password file {path}: {source}")]
    PasswordFileUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("both a password and a bearer token are configured; choose one")]
    AmbiguousCredentials,

    #[error("a password is configured without a username")]
    PasswordWithoutUsername,

    #[error("invalid setting {key}: {reason}")]
    InvalidSetting { key: &'static str, reason: String },

    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

impl DavError {
    /// Configuration errors need a person; only a briefly unreadable password
    /// file (e.g. a secrets mount not there yet) can heal by itself.
    pub fn is_transient(&self) -> bool {
        matches!(self, DavError::PasswordFileUnreadable { source, .. }
            if matches!(source.kind(), io::ErrorKind::Interrupted | io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock))
    }

    pub fn hint(&self) -> &'static str {
        match self {
            DavError::InvalidUrl { .. } => {
                "set the profile's DAV url to the server's http(s) address (e.g. https://dav.example.com/)"
            }
            DavError::PasswordEnvMissing { .. } => {
                "export the variable in crmsync's environment or configure the password another way"
            }
            DavError::PasswordFileUnreadable { .. } => {
                "check that the password file exists and the crmsync service user may read it"
            }
            DavError::AmbiguousCredentials => "remove either the password or the bearer token from the profile",
            DavError::PasswordWithoutUsername => "add the username to the profile",
            DavError::InvalidSetting { .. } => "fix the named setting in the profile",
            DavError::HttpClient(_) => "report it: the TLS/HTTP stack could not be initialised on this machine",
        }
    }
}

impl From<DavError> for ConnectorError {
    fn from(e: DavError) -> Self {
        match e {
            DavError::PasswordFileUnreadable { path, source } => {
                ConnectorError::from_io(format!("reading password file {}", path.display()), source)
            }
            other => ConnectorError::Unsupported {
                what: format!("{other} ({})", other.hint()),
            },
        }
    }
}
