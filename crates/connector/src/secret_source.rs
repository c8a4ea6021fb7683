//! Where a connector's secret (password, token) comes from: the one secret
//! type of every connector config, in the config file, the stored profiles and
//! the API alike. A deployment should point at an environment variable or a
//! file (a container secret) rather than put the value in the file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Secret;

/// In TOML: a string (the secret itself), `{ env = "VAR" }` or
/// `{ file = "/run/secrets/dav" }`; in JSON the same shapes. `Debug` never
/// shows the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretSource {
    Env { env: String },
    File { file: PathBuf },
    Value(Secret),
}

/// A secret that names a variable or file that cannot be read. The message
/// names the variable or file, never a secret.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("the environment variable {var} that holds the secret is not set")]
    EnvMissing { var: String },
    #[error("cannot read the secret file {path}: {source}")]
    FileUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SecretSource {
    /// Reads the secret now, so a rotated secret is picked up at the next
    /// connector start.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Value(secret) => Ok(secret.clone()),
            SecretSource::Env { env } => std::env::var(env)
                .map(Secret::new)
                .map_err(|_| SecretError::EnvMissing { var: env.clone() }),
            SecretSource::File { file } => {
                let text = std::fs::read_to_string(file).map_err(|source| SecretError::FileUnreadable {
                    path: file.clone(),
                    source,
                })?;
                // Editors and `echo` add a final newline that is not part of the secret.
                Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
            }
        }
    }

    /// The secret itself is in the settings (not a reference to where it is).
    pub fn is_value(&self) -> bool {
        matches!(self, SecretSource::Value(_))
    }
}
