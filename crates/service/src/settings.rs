//! A profile's connector settings, split into a public part (stored as JSON,
//! shown by the API) and a secret part (sealed at rest, never shown).
//!
//! Settings arrive as one JSON object with a `kind` (the form of the config
//! file's `[profile.connector]`); the keys that hold credentials for that kind
//! move to the secret part when they hold the secret itself. A reference such
//! as `{ env = "VAR" }` or `{ file = "/path" }` names where a secret is, not
//! the secret, and stays public.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Keys that carry credentials, per connector kind.
pub fn secret_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "dav" => &["password", "bearer_token"],
        _ => &[],
    }
}

/// The secret settings. `Debug` shows which keys are set, never their values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretFields(BTreeMap<String, Value>);

impl fmt::Debug for SecretFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, "***"))).finish()
    }
}

impl SecretFields {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The JSON that gets sealed. Read deliberately: named so every use is easy to audit.
    pub(crate) fn expose_json(&self) -> String {
        serde_json::to_string(&self.0).expect("JSON values serialise")
    }

    pub(crate) fn from_exposed_json(text: &[u8]) -> Option<SecretFields> {
        serde_json::from_slice(text).ok().map(SecretFields)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSettings {
    pub kind: String,
    /// Everything but `kind` and the secrets.
    pub public: Map<String, Value>,
    pub secrets: SecretFields,
}

impl ConnectorSettings {
    /// Splits `{ "kind": …, … }`. None when there is no string `kind`.
    pub fn from_json(value: Value) -> Option<ConnectorSettings> {
        let Value::Object(mut map) = value else { return None };
        let Some(Value::String(kind)) = map.remove("kind") else {
            return None;
        };
        let mut secrets = BTreeMap::new();
        for key in secret_keys(&kind) {
            if matches!(map.get(*key), Some(Value::String(_))) {
                let value = map.remove(*key).expect("checked above");
                secrets.insert((*key).to_string(), value);
            }
        }
        Some(ConnectorSettings {
            kind,
            public: map,
            secrets: SecretFields(secrets),
        })
    }

    /// The settings as the connector reads them, secrets included.
    pub(crate) fn expose_full_json(&self) -> Value {
        let mut map = self.public.clone();
        for (k, v) in &self.secrets.0 {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }

    pub(crate) fn public_json(&self) -> String {
        serde_json::to_string(&self.public).expect("JSON values serialise")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn literal_dav_password_is_secret_and_references_stay_public() {
        let s = ConnectorSettings::from_json(json!({
            "kind": "dav", "url": "https://dav.example/", "username": "anna",
            "password": "hunter2", "bearer_token": { "env": "TOKEN_VAR" }
        }))
        .unwrap();
        assert_eq!(s.kind, "dav");
        assert!(!s.public.contains_key("password"));
        assert_eq!(s.public["bearer_token"], json!({ "env": "TOKEN_VAR" }));
        assert_eq!(s.secrets.keys().collect::<Vec<_>>(), ["password"]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("password"), "which secret is set may show: {shown}");
        assert_eq!(s.expose_full_json()["password"], json!("hunter2"));
    }

    #[test]
    fn vdir_has_no_secrets_and_kind_is_required() {
        let s = ConnectorSettings::from_json(json!({ "kind": "vdir", "root": "/srv/mail/anna" })).unwrap();
        assert!(s.secrets.is_empty());
        assert_eq!(s.public_json(), r#"{"root":"/srv/mail/anna"}"#);
        assert!(ConnectorSettings::from_json(json!({ "root": "/x" })).is_none());
    }
}
