//! An IMAP profile's settings, as they appear in the TOML config (secrets
//! already resolved by the config layer) and the API.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crmsync_connector::{
    Connector, ConnectorConfig, InvalidSetting, MailSource, MailTracking, MailWatch, OpenError, OpenOptions,
    OpenedMail, OpenedWatch, Secret, SecretSource,
};
use serde::{Deserialize, Serialize};

use crate::error::ImapError;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (port 143); refused when the
    /// server does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (port 993).
    Tls,
    /// No encryption: only for a server on the same host (tests, a local relay).
    None,
}

/// Where to reach one IMAP mailbox and how to log in.
///
/// ```toml
/// host = "imap.example.com"
/// port = 143
/// tls = "starttls"      # or "tls" (port 993) or "none"
/// ca_file = "ca.pem"    # optional: CA certificates trusted besides the Mozilla roots
/// username = "anna"
/// password = "…"        # or bearer_token = "…" (XOAUTH2)
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    /// Absent: 993 with `tls = "tls"`, else 143.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    /// A PEM file of CA certificates trusted besides the Mozilla roots: a
    /// company CA, or a server's own self-signed certificate. Relative to
    /// the configuration file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSource>,
    /// OAuth 2 access token, sent with SASL XOAUTH2 instead of a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<SecretSource>,
    /// Seconds one command may take before the connection counts as lost.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// What is tracked (R-TRACK-4); every key has the SPEC's default.
    #[serde(default)]
    pub tracking: MailTracking,
}

fn default_timeout_secs() -> u64 {
    60
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secret's own Debug hides the value; say only which one is set.
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port())
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("timeout_secs", &self.timeout_secs)
            .field("tracking", &self.tracking)
            .finish()
    }
}

/// How the connector logs in, after [`ImapConfig::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Login {
    Password(Secret),
    XOauth2(Secret),
}

impl ImapConfig {
    /// Password login with defaults for the rest.
    pub fn with_password(host: impl Into<String>, port: u16, tls: TlsMode, username: &str, password: &str) -> Self {
        ImapConfig {
            host: host.into(),
            port: Some(port),
            tls,
            ca_file: None,
            username: username.to_string(),
            password: Some(SecretSource::Value(Secret::new(password))),
            bearer_token: None,
            timeout_secs: default_timeout_secs(),
            tracking: MailTracking::default(),
        }
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Tls => 993,
            TlsMode::Starttls | TlsMode::None => 143,
        })
    }

    /// Checks the settings without touching the network; the error names
    /// the key at fault.
    pub fn validate(&self) -> Result<(), ImapError> {
        let invalid = |key: &'static str, reason: &str| {
            Err(ImapError::InvalidSetting {
                key,
                reason: reason.to_string(),
            })
        };
        if self.host.trim().is_empty() || self.host.contains(['/', ' ']) {
            return invalid("host", "must be a host name or address, e.g. imap.example.com");
        }
        if self.port == Some(0) {
            return invalid("port", "must be 1 to 65535");
        }
        if self.username.trim().is_empty() {
            return invalid("username", "must not be empty");
        }
        if self.ca_file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
            return invalid("ca_file", "must name a PEM file of CA certificates");
        }
        if self.ca_file.is_some() && self.tls == TlsMode::None {
            return invalid(
                "ca_file",
                "is for tls = \"tls\" or \"starttls\"; this connection has no TLS",
            );
        }
        if self.timeout_secs == 0 {
            return invalid("timeout_secs", "must be at least 1");
        }
        if let Err(message) = self.tracking.validate() {
            return Err(ImapError::InvalidSetting {
                key: "tracking",
                reason: message,
            });
        }
        self.credential().map(|_| ())
    }

    fn credential(&self) -> Result<(&SecretSource, bool), ImapError> {
        match (&self.password, &self.bearer_token) {
            (Some(_), Some(_)) => Err(ImapError::InvalidSetting {
                key: "password",
                reason: "both a password and a bearer_token are set; choose one".into(),
            }),
            (Some(p), None) => Ok((p, false)),
            (None, Some(t)) => Ok((t, true)),
            (None, None) => Err(ImapError::InvalidSetting {
                key: "password",
                reason: "set a password or a bearer_token".into(),
            }),
        }
    }

    /// The login, with the secret read now (a rotated one is picked up at
    /// the next connection).
    pub(crate) fn login(&self) -> Result<Login, ImapError> {
        let (source, bearer) = self.credential()?;
        let secret = source.resolve().map_err(|e| ImapError::Secret(e.to_string()))?;
        Ok(if bearer {
            Login::XOauth2(secret)
        } else {
            Login::Password(secret)
        })
    }
}

impl ConnectorConfig for ImapConfig {
    fn secret_keys() -> &'static [&'static str] {
        &["password", "bearer_token"]
    }

    fn resolve_paths(&mut self, base_dir: &Path) {
        if let Some(file) = &mut self.ca_file
            && file.is_relative()
        {
            *file = base_dir.join(&*file);
        }
    }

    /// A CA file is read on the crmsync host: only an admin may name one
    /// over the API.
    fn uses_local_files(&self) -> bool {
        self.ca_file.is_some()
    }

    fn validate(&self) -> Result<(), InvalidSetting> {
        ImapConfig::validate(self).map_err(|e| match e {
            ImapError::InvalidSetting { key, reason } => InvalidSetting::new(key, reason),
            other => InvalidSetting::new("connector", other.to_string()),
        })
    }

    /// IMAP holds mail only: contacts, events and tasks need another kind.
    fn open(&self, _options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError> {
        Err(OpenError {
            message: "an imap connector holds e-mail only, no contacts, events or tasks".into(),
            hint: "use a dav or vdir connector for those".into(),
            transient: false,
        })
    }

    fn open_mail(&self, options: OpenOptions) -> Option<OpenedMail> {
        Some(
            crate::ImapConnector::with_reach(self.clone(), options.reach)
                .map(|c| (Arc::new(c) as Arc<dyn MailSource>, self.tracking.clone()))
                .map_err(open_error),
        )
    }

    fn mail_watch_folders(&self) -> Vec<String> {
        self.tracking.folders()
    }

    fn open_mail_watch(&self, options: OpenOptions, folder: &str) -> Option<OpenedWatch> {
        Some(
            crate::ImapWatcher::new(self.clone(), options.reach, folder)
                .map(|w| Box::new(w) as Box<dyn MailWatch>)
                .map_err(open_error),
        )
    }
}

/// Settings refused at opening (checked again there): never worth retrying.
fn open_error(e: ImapError) -> OpenError {
    OpenError {
        message: e.to_string(),
        hint: e.hint().to_string(),
        transient: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_reads_the_profile_shape_and_debug_hides_secrets() {
        let c: ImapConfig =
            toml::from_str("host = \"imap.example.com\"\ntls = \"tls\"\nusername = \"anna\"\npassword = \"hunter2\"")
                .unwrap();
        assert_eq!(c.port(), 993, "tls defaults to 993");
        assert_eq!(c.tls, TlsMode::Tls);
        c.validate().unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "Debug leaked the password: {shown}");
        let starttls: ImapConfig = toml::from_str("host = \"h\"\nusername = \"a\"\nbearer_token = \"tok\"").unwrap();
        assert_eq!((starttls.tls, starttls.port()), (TlsMode::Starttls, 143));
        assert!(!format!("{starttls:?}").contains("tok\""));
    }

    #[test]
    fn validate_names_the_key_at_fault() {
        let mut c = ImapConfig::with_password("h", 143, TlsMode::None, "a", "p");
        c.validate().unwrap();
        c.bearer_token = Some(SecretSource::Value(Secret::new("t")));
        assert!(c.validate().unwrap_err().to_string().contains("password"));
        c.password = None;
        c.bearer_token = None;
        assert!(c.validate().unwrap_err().to_string().contains("password"));
        let mut c = ImapConfig::with_password("", 143, TlsMode::None, "a", "p");
        assert!(c.validate().unwrap_err().to_string().contains("host"));
        c.host = "h".into();
        c.port = Some(0);
        assert!(c.validate().unwrap_err().to_string().contains("port"));
        assert!(toml::from_str::<ImapConfig>("host = \"h\"\nusername = \"a\"\ntls = \"ssl\"").is_err());
    }
}
