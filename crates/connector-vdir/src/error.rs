//! Errors of opening a vdir root. Errors of connector calls are the shared
//! [`crmsync_connector::ConnectorError`].

use std::io;
use std::path::PathBuf;

use crmsync_connector::ConnectorError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum VdirError {
    #[error("vdir root {path} does not exist")]
    RootMissing { path: PathBuf },

    #[error("vdir root {path} is not a directory")]
    RootNotADirectory { path: PathBuf },

    #[error("cannot read vdir root {path}: {source}")]
    RootUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("invalid setting {key}: {reason}")]
    InvalidSetting { key: &'static str, reason: String },
}

impl VdirError {
    /// A wrong root is a configuration problem: retrying cannot help, except
    /// for an I/O hiccup (e.g. a network file system that is briefly away).
    pub fn is_transient(&self) -> bool {
        matches!(self, VdirError::RootUnreadable { source, .. }
            if matches!(source.kind(), io::ErrorKind::Interrupted | io::ErrorKind::TimedOut))
    }

    pub fn hint(&self) -> &'static str {
        match self {
            VdirError::RootMissing { .. } => {
                "create the folder or fix the profile's vdir root (the folder that holds one sub-folder per address book or calendar)"
            }
            VdirError::RootNotADirectory { .. } => "point the profile's vdir root at a folder, not a file",
            VdirError::RootUnreadable { .. } => "give the crmsync service user read and write access to the folder",
            VdirError::InvalidSetting { .. } => "fix the named setting in the profile",
        }
    }
}

impl From<VdirError> for ConnectorError {
    fn from(e: VdirError) -> Self {
        match e {
            VdirError::RootMissing { path } => ConnectorError::NotFound {
                what: format!("vdir root {}", path.display()),
            },
            VdirError::RootNotADirectory { path } => ConnectorError::Unsupported {
                what: format!("vdir root {} is not a directory", path.display()),
            },
            VdirError::RootUnreadable { path, source } => {
                ConnectorError::from_io(format!("reading vdir root {}", path.display()), source)
            }
            e @ VdirError::InvalidSetting { .. } => ConnectorError::Unsupported { what: e.to_string() },
        }
    }
}
