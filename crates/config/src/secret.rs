//! The environment variables that connector secrets name
//! (`password = { env = "VAR" }`, see `crmsync_connector::SecretSource`).

use std::collections::BTreeSet;

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
        .flat_map(|connector| {
            let kind = connector.get("kind").and_then(toml::Value::as_str).unwrap_or("");
            crmsync_connector_registry::secret_keys(kind)
                .iter()
                .filter_map(|k| connector.get(*k))
        })
        .filter_map(|source| source.get("env")?.as_str().map(str::to_owned))
        .collect()
}
