//! A DAV profile's settings, as they appear in the TOML config and the API.

use std::sync::Arc;
use std::time::Duration;

use crmsync_connector::{
    Connector, ConnectorConfig, Credentials, InvalidSetting, OpenError, OpenOptions, Secret, SecretError, SecretSource,
};
use serde::{Deserialize, Serialize};

use crate::{DavConnector, DavError};

/// Where to reach one CardDAV/CalDAV account and how hard to push it.
///
/// ```toml
/// url = "https://dav.example.com/"
/// username = "anna"
/// password = { env = "CRMSYNC_DAV_PASSWORD" }   # or "literal" or { file = "/run/secrets/dav" }
/// concurrency = 4
/// timeout_secs = 30
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DavConfig {
    /// Any URL of the server: its root, a well-known URI, the principal or a home.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// HTTP Basic password (with `username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSource>,
    /// OAuth bearer token, instead of a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<SecretSource>,
    /// Requests in flight at once against this server (servers such as Radicale
    /// serve a handful of connections; more only queues there).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Whole-request time-out.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Hrefs per multiget REPORT.
    #[serde(default = "default_multiget_batch")]
    pub multiget_batch: usize,
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_concurrency() -> usize {
    4
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_multiget_batch() -> usize {
    50
}

impl DavConfig {
    /// A config with defaults for everything but the URL and credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            username: None,
            password: None,
            bearer_token: None,
            concurrency: default_concurrency(),
            timeout_secs: default_timeout_secs(),
            multiget_batch: default_multiget_batch(),
            retry: RetryConfig::default(),
        }
    }

    /// Basic auth with a literal password.
    pub fn with_basic(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(SecretSource::Value(Secret::new(password.into())));
        self
    }

    /// Resolves the configured secret (reading env var or file now, so a
    /// rotated secret is picked up at the next connector start).
    pub fn credentials(&self) -> Result<Credentials, DavError> {
        match (&self.username, &self.password, &self.bearer_token) {
            (_, Some(_), Some(_)) => Err(DavError::AmbiguousCredentials),
            (None, Some(_), None) => Err(DavError::PasswordWithoutUsername),
            (Some(username), password, None) => Ok(Credentials::Basic {
                username: username.clone(),
                // Radicale with `auth = none` still wants Basic auth to name the
                // user; an empty password is what a user name alone means.
                password: match password {
                    Some(source) => source.resolve()?,
                    None => Secret::new(""),
                },
            }),
            (_, None, Some(token)) => Ok(Credentials::Bearer {
                token: token.resolve()?,
            }),
            (None, None, None) => Ok(Credentials::None),
        }
    }

    /// What can be checked without the server; the config file and the API
    /// both refuse a profile that fails it, naming the key (R-CFG-SPEC-1).
    /// Messages never quote the URL's password.
    pub fn validate(&self) -> Result<(), DavError> {
        let invalid = |key: &'static str, reason: &str| DavError::InvalidSetting {
            key,
            reason: reason.to_string(),
        };
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return Err(invalid("url", "is not a URL like https://dav.example.com/"));
        };
        if !matches!(scheme, "http" | "https") || rest.is_empty() {
            return Err(invalid("url", "must be an http:// or https:// URL"));
        }
        if rest.split('/').next().is_some_and(|authority| authority.contains('@')) {
            return Err(invalid(
                "url",
                "put the username and password in their own keys, not in the URL",
            ));
        }
        if self.password.is_some() && self.bearer_token.is_some() {
            return Err(invalid(
                "bearer_token",
                "set either password (with username) or bearer_token, not both",
            ));
        }
        if self.password.is_some() && self.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
            return Err(invalid("username", "a password needs the username it belongs to"));
        }
        let positive = |key: &'static str, v: u64| {
            if v == 0 {
                Err(DavError::InvalidSetting {
                    key,
                    reason: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("concurrency", self.concurrency as u64)?;
        positive("timeout_secs", self.timeout_secs)?;
        positive("multiget_batch", self.multiget_batch as u64)?;
        Ok(())
    }
}

/// Bounded retries with exponential back-off and jitter for 429, 5xx and
/// connection failures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// Delay before the first retry; doubles each time.
    pub base_delay_ms: u64,
    /// Cap of one back-off delay.
    pub max_delay_ms: u64,
    /// Longest `Retry-After` honoured in place; a longer one ends the call
    /// with `RateLimited` so the runner can schedule the profile later.
    pub max_retry_after_secs: u64,
}

impl From<SecretError> for DavError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::EnvMissing { var } => DavError::PasswordEnvMissing { var },
            SecretError::FileUnreadable { path, source } => DavError::PasswordFileUnreadable { path, source },
        }
    }
}

impl ConnectorConfig for DavConfig {
    fn secret_keys() -> &'static [&'static str] {
        &["password", "bearer_token"]
    }

    fn validate(&self) -> Result<(), InvalidSetting> {
        DavConfig::validate(self).map_err(|e| match e {
            DavError::InvalidSetting { key, reason } => InvalidSetting::new(key, reason),
            other => InvalidSetting::new("connector", other.to_string()),
        })
    }

    fn requests_in_flight(&self) -> Option<usize> {
        Some(self.concurrency)
    }

    fn open(&self, _options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError> {
        let connector = DavConnector::new(self).map_err(|e| OpenError {
            message: e.to_string(),
            hint: e.hint().to_string(),
            transient: e.is_transient(),
        })?;
        Ok(Arc::new(connector))
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay_ms: 250,
            max_delay_ms: 10_000,
            max_retry_after_secs: 60,
        }
    }
}

impl RetryConfig {
    pub(crate) fn base_delay(&self) -> Duration {
        Duration::from_millis(self.base_delay_ms)
    }
    pub(crate) fn max_delay(&self) -> Duration {
        Duration::from_millis(self.max_delay_ms)
    }
    pub(crate) fn max_retry_after(&self) -> Duration {
        Duration::from_secs(self.max_retry_after_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_accepts_literal_env_and_file_passwords_and_debug_hides_them() {
        let literal: DavConfig =
            toml::from_str("url = \"http://h/\"\nusername = \"anna\"\npassword = \"hunter2\"").unwrap();
        assert_eq!(literal.password, Some(SecretSource::Value(Secret::new("hunter2"))));
        assert_eq!(literal.concurrency, 4, "defaults apply");
        assert!(!format!("{literal:?}").contains("hunter2"), "Debug leaked the password");

        let env: DavConfig =
            toml::from_str("url = \"http://h/\"\nusername = \"a\"\npassword = { env = \"X\" }").unwrap();
        assert_eq!(env.password, Some(SecretSource::Env { env: "X".into() }));
        let file: DavConfig = toml::from_str(
            "url = \"http://h/\"\nusername = \"a\"\npassword = { file = \"/p\" }\n[retry]\nmax_retries = 0",
        )
        .unwrap();
        assert_eq!(file.password, Some(SecretSource::File { file: "/p".into() }));
        assert_eq!(file.retry.max_retries, 0);
    }

    #[test]
    fn password_file_loses_its_final_newline_and_env_var_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let config = DavConfig {
            username: Some("anna".into()),
            password: Some(SecretSource::File { file: path }),
            ..DavConfig::new("http://h/")
        };
        match config.credentials().unwrap() {
            Credentials::Basic { username, password } => {
                assert_eq!((username.as_str(), password.expose()), ("anna", "s3cret"));
            }
            other => panic!("expected Basic, got {other:?}"),
        }
        let missing = DavConfig {
            username: Some("anna".into()),
            password: Some(SecretSource::Env {
                env: "CRMSYNC_DAV_TEST_SURELY_UNSET".into(),
            }),
            ..DavConfig::new("http://h/")
        };
        assert!(matches!(
            missing.credentials(),
            Err(DavError::PasswordEnvMissing { .. })
        ));
    }

    #[test]
    fn password_and_token_together_are_refused() {
        let config = DavConfig {
            bearer_token: Some(SecretSource::Value(Secret::new("t"))),
            ..DavConfig::new("http://h/").with_basic("a", "b")
        };
        assert!(matches!(config.credentials(), Err(DavError::AmbiguousCredentials)));
        let bearer = DavConfig {
            bearer_token: Some(SecretSource::Value(Secret::new("t"))),
            ..DavConfig::new("http://h/")
        };
        assert!(matches!(bearer.credentials(), Ok(Credentials::Bearer { .. })));
        let zero = DavConfig {
            concurrency: 0,
            ..DavConfig::new("http://h/")
        };
        assert!(matches!(
            zero.validate(),
            Err(DavError::InvalidSetting { key: "concurrency", .. })
        ));
    }
}
