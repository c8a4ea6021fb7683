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
    check_public_url(&config.server.public_url)?;
    if !crate::model::LIVE_POLL_MILLIS.contains(&config.server.live_poll_millis) {
        return Err(ConfigError::invalid(
            "server.live_poll_millis",
            format!(
                "must be {} to {} (R-WEB-21)",
                crate::model::LIVE_POLL_MILLIS.start(),
                crate::model::LIVE_POLL_MILLIS.end()
            ),
        ));
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
        if let Some(mail) = &p.mail {
            mail.validate()
                .map_err(|e| ConfigError::invalid(format!("profile[{i}].mail.{}", e.key), e.message))?;
            // R-PROFILE-MAIL-1: e-mail beside contacts and calendars.
            if !mail.is_mail_only() {
                return Err(ConfigError::invalid(
                    format!("profile[{i}].mail.kind"),
                    format!("a `{}` connector holds no e-mail; use kind = \"imap\"", mail.kind()),
                ));
            }
            if p.connector.is_mail_only() {
                return Err(ConfigError::invalid(
                    format!("profile[{i}].mail"),
                    "the profile's connector is a mail connector already; put the dav or vdir connector in \
                     `connector` and the imap one in `mail`",
                ));
            }
        }
        check_rules(i, &p.rules)?;
    }
    Ok(())
}

/// The `rules` table is read as the engine's profile, which refuses unknown
/// keys: a misspelt policy would otherwise fall back to the default silently
/// (R-CFG-RULES-1). The user is filled in by the profile factory, not the file.
fn check_rules(i: usize, rules: &toml::Table) -> Result<(), ConfigError> {
    let mut rules = rules.clone();
    rules.insert("user_id".into(), toml::Value::String(String::new()));
    serde_path_to_error::deserialize::<_, crmsync_engine::Profile>(toml::Value::Table(rules))
        .map(drop)
        .map_err(|e| {
            let message = e.inner().to_string();
            let key = crate::error::key_of(&e.path().to_string(), &message);
            ConfigError::invalid(format!("profile[{i}].rules.{key}"), message)
        })
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

/// `server.public_url`: empty, or an http(s) address without credentials,
/// query or fragment, below which `/api/v1/push/…` is reached.
fn check_public_url(raw: &str) -> Result<(), ConfigError> {
    if raw.is_empty() {
        return Ok(());
    }
    let bad = |why: &str| {
        Err(ConfigError::invalid(
            "server.public_url",
            format!("{why}; set the https:// address groupware servers reach this API at, or leave it empty"),
        ))
    };
    let Ok(url) = url::Url::parse(raw) else {
        return bad("is not a URL");
    };
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return bad("must be an http(s) URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not hold a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must not have a query or fragment");
    }
    Ok(())
}
