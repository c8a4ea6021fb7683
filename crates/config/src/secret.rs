//! Where a connector's secret (password, token) comes from. The value itself
//! may sit in the file, but a deployment should point at an environment
//! variable or a file (a container secret) instead.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crmsync_connector::Secret;
use serde::{Deserialize, Serialize};

/// In TOML: a string (the secret itself), `{ env = "VAR" }` or
/// `{ file = "/run/secrets/dav" }`. `Debug` never shows the secret, and no
/// error of this crate quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretSource {
    Env { env: String },
    File { file: PathBuf },
    Value(Secret),
}

/// Keys of a connector table that hold a [`SecretSource`].
const SECRET_KEYS: &[&str] = &["password", "bearer_token"];

/// The environment variables the profiles' secrets name. They are not
/// configuration keys, so the check for mistyped `CRMSYNC_*` variables must
/// leave them alone (R-CFG-SECRET-1).
pub(crate) fn referenced_env_vars(table: &toml::Table) -> BTreeSet<String> {
    let Some(toml::Value::Array(profiles)) = table.get("profile") else {
        return BTreeSet::new();
    };
    profiles
        .iter()
        .filter_map(|p| p.get("connector")?.as_table())
        .flat_map(|connector| SECRET_KEYS.iter().filter_map(|k| connector.get(*k)))
        .filter_map(|source| source.get("env")?.as_str().map(str::to_owned))
        .collect()
}
