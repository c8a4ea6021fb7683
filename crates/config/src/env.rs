//! Environment overrides: `CRMSYNC_SECTION_KEY=value` replaces `section.key`.

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::model::Config;

pub(crate) const PREFIX: &str = "CRMSYNC_";

/// The keys that can be overridden and their environment names, derived from
/// the defaults so a new key is overridable the moment it exists.
fn overridable_keys() -> Vec<(String, String, toml::Value)> {
    let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
    let mut keys = Vec::new();
    if let toml::Value::Table(sections) = defaults {
        for (section, value) in sections {
            if let toml::Value::Table(fields) = value {
                for (field, default) in fields {
                    let env = format!("{PREFIX}{}_{}", section.to_uppercase(), field.to_uppercase());
                    keys.push((format!("{section}.{field}"), env, default));
                }
            }
        }
    }
    keys
}

pub(crate) fn apply_overrides(table: &mut toml::Table, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let keys = overridable_keys();
    for (var, raw) in env {
        if super::NOT_CONFIG_KEYS.contains(&var.as_str()) || !var.starts_with(PREFIX) {
            continue;
        }
        let Some((key, _, default)) = keys.iter().find(|(_, env, _)| env == var) else {
            let known: Vec<&str> = keys.iter().map(|(_, e, _)| e.as_str()).collect();
            return Err(ConfigError::Env {
                var: var.clone(),
                message: format!("not a configuration key; known: {}", known.join(", ")),
            });
        };
        let value = typed_like(default, raw).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
        let (section, field) = key.split_once('.').expect("keys are section.field");
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(t) => {
                t.insert(field.to_string(), value);
            }
            _ => return Err(ConfigError::invalid(section, "must be a table")),
        }
    }
    Ok(())
}

/// An environment value has no type of its own; it takes the type of the key's default.
fn typed_like(default: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    match default {
        toml::Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("`{raw}` is not a whole number")),
        toml::Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        },
        // A list (`[security] allowed_hosts`): comma-separated.
        toml::Value::Array(_) => Ok(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        _ => Ok(toml::Value::String(raw.to_string())),
    }
}
