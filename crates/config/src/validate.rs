//! Checks that serde cannot express: values that parse but cannot work.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::error::ConfigError;
use crate::model::Config;

pub(crate) fn validate(config: &Config) -> Result<(), ConfigError> {
    let url = &config.database.url;
    let scheme_ok = url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !scheme_ok {
        return Err(ConfigError::invalid(
            "database.url",
            format!("`{}` must start with sqlite:// or postgres://", redact_url(url)),
        ));
    }
    if config.server.listen.parse::<SocketAddr>().is_err() {
        return Err(ConfigError::invalid(
            "server.listen",
            format!("`{}` is not an address like 127.0.0.1:8080", config.server.listen),
        ));
    }
    if config.server.max_body_bytes < 1024 {
        return Err(ConfigError::invalid("server.max_body_bytes", "must be at least 1024"));
    }
    let mut names = BTreeSet::new();
    for (i, p) in config.profiles.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(ConfigError::invalid(format!("profile[{i}].name"), "must not be empty"));
        }
        if !names.insert(p.name.as_str()) {
            return Err(ConfigError::invalid(
                format!("profile[{i}].name"),
                format!("`{}` is used by another profile", p.name),
            ));
        }
        if p.user.trim().is_empty() {
            return Err(ConfigError::invalid(format!("profile[{i}].user"), "must not be empty"));
        }
        // The connector's own checks, the same the API applies (R-CFG-SPEC-1).
        p.connector
            .validate()
            .map_err(|e| ConfigError::invalid(format!("profile[{i}].connector.{}", e.key), e.message))?;
    }
    Ok(())
}

/// Hides the password of a URL so it can go into an error message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
