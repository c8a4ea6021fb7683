//! crmsync's configuration: one TOML file, every key overridable by an
//! environment variable, validated once at start with errors that name the key.
//!
//! The environment name of a key is `CRMSYNC_` followed by its dotted path in
//! upper case with dots as underscores: `database.url` ↔ `CRMSYNC_DATABASE_URL`,
//! `server.max_body_bytes` ↔ `CRMSYNC_SERVER_MAX_BODY_BYTES`. Only keys of the
//! top-level sections can be overridden this way (profiles are lists, and a
//! list has no stable environment name); an unknown `CRMSYNC_*` variable is an
//! error rather than silently ignored, so a typo cannot go unnoticed.

mod env;
mod error;
mod model;
mod secret;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

pub use crmsync_connector::SecretSource;
pub use crmsync_connector_registry::ConnectorSpec;
pub use error::ConfigError;
pub use model::{
    Config, DEFAULT_LIVE_POLL_MILLIS, DEFAULT_MAX_BODY_BYTES, DatabaseConfig, LogConfig, LogFormat, ProfileConfig,
    SchedulerConfig, SecurityConfig, ServerConfig,
};
pub use validate::redact_url;

/// Environment variables that configure tests and tooling, not the product;
/// they share the prefix but are not configuration keys.
const NOT_CONFIG_KEYS: &[&str] = &["CRMSYNC_TEST_POSTGRES_URL", "CRMSYNC_LOG", "CRMSYNC_CONFIG"];

impl Config {
    /// Reads `path` (or the defaults when `None`), applies the process
    /// environment and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with(env::PREFIX)).collect();
        Config::load_with_env(path, &env)
    }

    /// As [`Config::load`], with the environment given explicitly (tests).
    pub fn load_with_env(path: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None => String::new(),
        };
        let origin = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<defaults>".into());
        Config::parse_with_env(&text, &origin, env)
    }

    /// Parses TOML text, applies `env` overrides and validates.
    pub fn parse_with_env(text: &str, origin: &str, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            origin: origin.to_string(),
            message: syntax_message(text, &e),
        })?;
        // Variables a profile's secret names are not configuration keys.
        let secret_vars = secret::referenced_env_vars(&table);
        let env: BTreeMap<String, String> = env
            .iter()
            .filter(|(k, _)| !secret_vars.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env::apply_overrides(&mut table, &env)?;
        let config: Config = Config::deserialize_table(table, origin)?;
        validate::validate(&config)?;
        Ok(config)
    }

    fn deserialize_table(table: toml::Table, origin: &str) -> Result<Config, ConfigError> {
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = error::key_of(&e.path().to_string(), e.inner().message());
            ConfigError::Invalid {
                key,
                message: format!("{} (in {origin})", e.inner().message()),
            }
        })
    }
}

/// A TOML syntax error by position only: toml's own message quotes the
/// offending line, which may be a password (R-CFG-SECRET-2).
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{} at line {line}, column {column}", e.message().trim_end())
        }
        None => e.message().trim_end().to_string(),
    }
}

#[cfg(test)]
mod tests;
