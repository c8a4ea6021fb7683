//! A DAV profile's settings, as they appear in the TOML config and the API.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use crmsync_connector::{
    CollectionChoice, Connector, ConnectorConfig, Credentials, FieldLimits, InvalidSetting, OpenError, OpenOptions,
    Secret, SecretError, SecretSource,
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
    /// Existing collections to use instead of crmsync's own (R-COL-1).
    #[serde(default, skip_serializing_if = "CollectionChoice::is_empty")]
    pub collections: CollectionChoice,
    /// The server's length limits (R-FIELD-6).
    #[serde(default, skip_serializing_if = "FieldLimits::is_empty")]
    pub field_limits: FieldLimits,
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
            collections: CollectionChoice::default(),
            field_limits: FieldLimits::default(),
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
        check_range("concurrency", self.concurrency as u64, CONCURRENCY_RANGE)?;
        check_range("timeout_secs", self.timeout_secs, TIMEOUT_SECS_RANGE)?;
        check_range("multiget_batch", self.multiget_batch as u64, MULTIGET_BATCH_RANGE)?;
        check_range(
            "retry.max_retries",
            u64::from(self.retry.max_retries),
            MAX_RETRIES_RANGE,
        )?;
        check_range("retry.base_delay_ms", self.retry.base_delay_ms, DELAY_MS_RANGE)?;
        check_range("retry.max_delay_ms", self.retry.max_delay_ms, DELAY_MS_RANGE)?;
        check_range(
            "retry.max_retry_after_secs",
            self.retry.max_retry_after_secs,
            MAX_RETRY_AFTER_SECS_RANGE,
        )?;
        Ok(())
    }
}

/// `concurrency`: requests in flight at once (R-CFG-DAV-2).
pub const CONCURRENCY_RANGE: RangeInclusive<u64> = 1..=64;
/// `timeout_secs`: one request's time-out, up to an hour.
pub const TIMEOUT_SECS_RANGE: RangeInclusive<u64> = 1..=3600;
/// `multiget_batch`: hrefs per multiget REPORT.
pub const MULTIGET_BATCH_RANGE: RangeInclusive<u64> = 1..=1000;
/// `retry.max_retries`.
pub const MAX_RETRIES_RANGE: RangeInclusive<u64> = 0..=10;
/// `retry.base_delay_ms` and `retry.max_delay_ms`: up to ten minutes.
pub const DELAY_MS_RANGE: RangeInclusive<u64> = 0..=600_000;
/// `retry.max_retry_after_secs`: up to an hour.
pub const MAX_RETRY_AFTER_SECS_RANGE: RangeInclusive<u64> = 0..=3600;

fn check_range(key: &'static str, value: u64, range: RangeInclusive<u64>) -> Result<(), DavError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(DavError::InvalidSetting {
        key,
        reason: format!("must be {} to {} (R-CFG-DAV-2)", range.start(), range.end()),
    })
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

    fn mailbox_tables(&self) -> Option<(&CollectionChoice, &FieldLimits)> {
        Some((&self.collections, &self.field_limits))
    }

    fn requests_in_flight(&self) -> Option<usize> {
        Some(self.concurrency)
    }

    fn open(&self, options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError> {
        let connector = DavConnector::with_reach(self, options.reach).map_err(|e| OpenError {
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

    #[test]
    fn r_cfg_dav_2_every_numeric_setting_outside_its_range_is_refused_by_name() {
        assert!(
            DavConfig::new("http://h/").validate().is_ok(),
            "the defaults are in range"
        );
        let cases: Vec<(&str, DavConfig)> = vec![
            (
                "concurrency",
                DavConfig {
                    concurrency: 1_000_000_000,
                    ..DavConfig::new("http://h/")
                },
            ),
            (
                "timeout_secs",
                DavConfig {
                    timeout_secs: u64::MAX,
                    ..DavConfig::new("http://h/")
                },
            ),
            (
                "multiget_batch",
                DavConfig {
                    multiget_batch: usize::MAX,
                    ..DavConfig::new("http://h/")
                },
            ),
            (
                "retry.max_retries",
                DavConfig {
                    retry: RetryConfig {
                        max_retries: u32::MAX,
                        ..RetryConfig::default()
                    },
                    ..DavConfig::new("http://h/")
                },
            ),
            (
                "retry.max_delay_ms",
                DavConfig {
                    retry: RetryConfig {
                        max_delay_ms: u64::MAX,
                        ..RetryConfig::default()
                    },
                    ..DavConfig::new("http://h/")
                },
            ),
            (
                "retry.max_retry_after_secs",
                DavConfig {
                    retry: RetryConfig {
                        max_retry_after_secs: u64::MAX,
                        ..RetryConfig::default()
                    },
                    ..DavConfig::new("http://h/")
                },
            ),
        ];
        for (key, config) in cases {
            match config.validate() {
                Err(DavError::InvalidSetting { key: named, reason }) => {
                    assert_eq!(named, key);
                    assert!(reason.contains(" to "), "the message gives the range: {reason}");
                }
                other => panic!("{key}: expected InvalidSetting, got {other:?}"),
            }
        }
        let edge = DavConfig {
            concurrency: 64,
            timeout_secs: 3600,
            ..DavConfig::new("http://h/")
        };
        assert!(edge.validate().is_ok(), "the range ends are allowed");
    }
}
