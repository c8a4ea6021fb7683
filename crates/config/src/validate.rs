//! Checks that serde cannot express: values that parse but cannot work.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::error::ConfigError;
use crate::model::{Config, ConnectorConfig};

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
        validate_connector(&format!("profile[{i}].connector"), &p.connector)?;
    }
    Ok(())
}

/// A DAV connector that cannot work is refused at start, naming the key;
/// messages never quote a secret (the URL is redacted).
fn validate_connector(key: &str, connector: &ConnectorConfig) -> Result<(), ConfigError> {
    let ConnectorConfig::Dav {
        url,
        username,
        password,
        bearer_token,
        concurrency,
        timeout_secs,
    } = connector
    else {
        return Ok(());
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(ConfigError::invalid(
            format!("{key}.url"),
            format!("`{}` is not a URL like https://dav.example.com/", redact_url(url)),
        ));
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return Err(ConfigError::invalid(
            format!("{key}.url"),
            format!("`{}` must be an http:// or https:// URL", redact_url(url)),
        ));
    }
    if rest.split('/').next().is_some_and(|authority| authority.contains('@')) {
        return Err(ConfigError::invalid(
            format!("{key}.url"),
            "put the username and password in their own keys, not in the URL",
        ));
    }
    if password.is_some() && bearer_token.is_some() {
        return Err(ConfigError::invalid(
            format!("{key}.bearer_token"),
            "set either password (with username) or bearer_token, not both",
        ));
    }
    if password.is_some() && username.as_deref().is_none_or(|u| u.trim().is_empty()) {
        return Err(ConfigError::invalid(
            format!("{key}.username"),
            "a password needs the username it belongs to",
        ));
    }
    // R-CFG-DAV-2: the ranges of crmsync_dav::DavConfig::validate, which
    // checks them again when the connector opens.
    if concurrency.is_some_and(|n| !(1..=64).contains(&n)) {
        return Err(ConfigError::invalid(format!("{key}.concurrency"), "must be 1 to 64"));
    }
    if timeout_secs.is_some_and(|n| !(1..=3600).contains(&n)) {
        return Err(ConfigError::invalid(format!("{key}.timeout_secs"), "must be 1 to 3600"));
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
