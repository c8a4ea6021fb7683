//! How a profile's [`ConnectorSpec`] is stored: a public part (JSON, shown by
//! the API) and a secret part (sealed at rest, never shown). The stored shape
//! is the one earlier versions wrote (`connector_kind`, the settings without
//! `kind`, the sealed literal secrets), so stored profiles keep loading.
//!
//! A key of the kind's `secret_keys` moves to the secret part when it holds
//! the secret itself; a reference such as `{ "env": "VAR" }` or
//! `{ "file": "/path" }` names where a secret is, not the secret, and stays
//! public.

use std::collections::BTreeMap;
use std::fmt;

use crmsync_connector_registry::{ConnectorSpec, SpecError, secret_keys};
use serde_json::{Map, Value};

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

/// Where a profile's `mail` connector is stored: under this key of the main
/// connector's public settings (its own public part, `kind` included) and of
/// its secrets (its literal secrets). No connector kind has a setting of
/// this name.
const MAIL_KEY: &str = "mail";

/// A connector in its stored form. `Debug` is safe: secrets hide themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredConnector {
    pub kind: String,
    /// Everything but `kind` and the literal secrets.
    pub public: Map<String, Value>,
    pub secrets: SecretFields,
}

impl StoredConnector {
    /// Splits `{ "kind": …, … }`; `None` when there is no string `kind`.
    pub fn from_json(value: Value) -> Option<StoredConnector> {
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
        Some(StoredConnector {
            kind,
            public: map,
            secrets: SecretFields(secrets),
        })
    }

    pub fn of(spec: &ConnectorSpec) -> StoredConnector {
        StoredConnector::from_json(spec.expose_json()).expect("a spec serialises with its kind")
    }

    /// `spec` with the profile's `mail` connector stored inside it.
    pub fn of_profile(spec: &ConnectorSpec, mail: Option<&ConnectorSpec>) -> StoredConnector {
        let mut stored = StoredConnector::of(spec);
        if let Some(mail) = mail {
            let mail = StoredConnector::of(mail);
            let mut public = mail.public;
            public.insert("kind".into(), Value::String(mail.kind));
            stored.public.insert(MAIL_KEY.into(), Value::Object(public));
            if !mail.secrets.is_empty() {
                let secrets = mail.secrets.0.into_iter().collect();
                stored.secrets.0.insert(MAIL_KEY.into(), Value::Object(secrets));
            }
        }
        stored
    }

    /// Takes out the `mail` connector [`StoredConnector::of_profile`] put in.
    /// A malformed one is left in place, so [`StoredConnector::to_spec`]
    /// names it.
    pub fn take_mail(&mut self) -> Option<StoredConnector> {
        let Some(Value::Object(public)) = self.public.get(MAIL_KEY) else {
            return None;
        };
        let Some(Value::String(kind)) = public.get("kind") else {
            return None;
        };
        let kind = kind.clone();
        let Some(Value::Object(mut public)) = self.public.remove(MAIL_KEY) else {
            unreachable!("checked above")
        };
        public.remove("kind");
        let secrets = match self.secrets.0.remove(MAIL_KEY) {
            Some(Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        Some(StoredConnector {
            kind,
            public,
            secrets: SecretFields(secrets),
        })
    }

    /// The typed spec, checked (R-CFG-SPEC-1).
    pub fn to_spec(&self) -> Result<ConnectorSpec, SpecError> {
        let mut map = self.public.clone();
        for (k, v) in &self.secrets.0 {
            map.insert(k.clone(), v.clone());
        }
        map.insert("kind".into(), Value::String(self.kind.clone()));
        ConnectorSpec::from_json(Value::Object(map))
    }

    pub fn public_json(&self) -> String {
        serde_json::to_string(&self.public).expect("JSON values serialise")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn literal_dav_password_is_secret_and_references_stay_public() {
        let s = StoredConnector::from_json(json!({
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
    }

    #[test]
    fn a_spec_round_trips_through_its_stored_form() {
        let spec = ConnectorSpec::from_json(json!({
            "kind": "dav", "url": "https://dav.example/", "username": "anna", "password": "hunter2"
        }))
        .unwrap();
        let stored = StoredConnector::of(&spec);
        assert!(!stored.public_json().contains("hunter2"));
        assert_eq!(stored.to_spec().unwrap(), spec);
    }

    // Profiles stored by earlier versions (settings without `kind`, secrets
    // sealed apart) still load.
    #[test]
    fn vdir_has_no_secrets_and_the_old_stored_form_loads() {
        let s = StoredConnector::from_json(json!({ "kind": "vdir", "root": "/srv/mail/anna" })).unwrap();
        assert!(s.secrets.is_empty());
        assert_eq!(s.public_json(), r#"{"root":"/srv/mail/anna"}"#);
        assert_eq!(s.to_spec().unwrap().kind(), "vdir");
        assert!(StoredConnector::from_json(json!({ "root": "/x" })).is_none());
        let old_dav = StoredConnector {
            kind: "dav".into(),
            public: serde_json::from_str(r#"{"url":"http://h/","username":"a","concurrency":2}"#).unwrap(),
            secrets: SecretFields::from_exposed_json(br#"{"password":"p"}"#).unwrap(),
        };
        assert_eq!(old_dav.to_spec().unwrap().requests_in_flight(), Some(2));
    }
}
