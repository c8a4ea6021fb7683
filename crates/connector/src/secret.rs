//! Secrets that connectors hold (passwords, OAuth tokens). `Debug` never shows
//! them, so a credential can sit inside any struct that derives `Debug` and end up
//! in a log line or a panic message without leaking.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string. Read it deliberately with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text. Named loudly so every use is easy to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// How a connector authenticates to its server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Credentials {
    /// No authentication (local vdir folders, test servers).
    None,
    /// HTTP Basic / IMAP LOGIN.
    Basic { username: String, password: Secret },
    /// OAuth 2 bearer token (Microsoft Graph).
    Bearer { token: Secret },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_credentials_hides_the_secret() {
        let basic = Credentials::Basic {
            username: "anna".into(),
            password: Secret::new("hunter2"),
        };
        let bearer = Credentials::Bearer {
            token: Secret::new("eyJ-token"),
        };
        let shown = format!("{basic:?} {bearer:?} {:?}", Secret::new("plain"));
        assert!(shown.contains("anna"), "the user name is not secret: {shown}");
        for leaked in ["hunter2", "eyJ-token", "plain"] {
            assert!(!shown.contains(leaked), "Debug leaked {leaked}: {shown}");
        }
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
    }
}
