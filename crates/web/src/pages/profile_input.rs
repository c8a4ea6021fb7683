//! What the profile forms send, turned into the service's `ProfileInput`:
//! the same input the API's `POST`/`PUT /api/v1/profiles` builds, so the
//! dashboard saves through `ProfileCatalog::create_for`/`replace_for` with
//! the API's rights and checks (R-WEB-10).

use crmsync_service::{ProfileInput, ProfileView};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::WebError;

/// The connector kinds the form edits field by field; other kinds (graph,
/// imap) keep their connector as it is and are changed over the API.
pub const FORM_KINDS: [&str; 2] = ["dav", "vdir"];

/// The profile form's fields. Every field is text, as a form posts it;
/// checkboxes are absent when unticked.
#[derive(Deserialize, Default)]
pub struct ProfileForm {
    /// Create only: the profile's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Create only, admins only: the CRM user (id or name); empty: the caller.
    #[serde(default)]
    pub user: Option<String>,
    /// Create only: `dav` or `vdir`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Empty on edit: keep the stored one (R-SVC-API-3 decides whether it may).
    #[serde(default)]
    pub password: Option<String>,
    /// A vdir's folder on the crmsync host (admins only, as over the API).
    #[serde(default)]
    pub root: Option<String>,
    #[serde(default)]
    pub pull_interval_secs: Option<String>,
    #[serde(default)]
    pub push: Option<String>,
    #[serde(default)]
    pub enabled: Option<String>,
    /// Edit only: the version the form was rendered from (the API's If-Match).
    #[serde(default)]
    pub version: Option<String>,
}

// The form holds the password: Debug must not print it.
impl std::fmt::Debug for ProfileForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileForm")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A blank string is no value.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A whole number from a form field, or a 400 naming the field.
pub fn number(field: &str, v: &Option<String>) -> Result<i64, WebError> {
    let text = given(v).ok_or_else(|| WebError::BadForm(format!("{field}: required")))?;
    text.parse()
        .map_err(|_| WebError::BadForm(format!("{field}: `{text}` is not a whole number")))
}

impl ProfileForm {
    /// A new profile from the form (`default_pull_interval_secs` when the
    /// interval is left empty, as the API does when it is absent).
    pub fn into_new(self, default_pull_interval_secs: u64) -> Result<ProfileInput, WebError> {
        let name = given(&self.name)
            .ok_or_else(|| WebError::BadForm("name: required".into()))?
            .to_string();
        let kind = given(&self.kind).unwrap_or("dav").to_string();
        if !FORM_KINDS.contains(&kind.as_str()) {
            return Err(WebError::BadForm(format!(
                "kind: `{kind}` cannot be set up here; use one of {}, or the API for the others",
                FORM_KINDS.join(", ")
            )));
        }
        let mut input = ProfileInput {
            name,
            user_id: given(&self.user).map(str::to_string),
            connector: Value::Object(Map::from_iter([("kind".to_string(), Value::String(kind))])),
            mail: None,
            rules: Value::Object(Map::new()),
            pull_interval_secs: default_pull_interval_secs,
            push: true,
            enabled: true,
        };
        self.apply(&mut input)?;
        Ok(input)
    }

    /// The stored profile `view` with the form's changes. What the form does
    /// not show (rules, mail, collections, another kind's settings) stays.
    pub fn into_edit(self, view: &ProfileView) -> Result<(i64, ProfileInput), WebError> {
        let version = number("version", &self.version)?;
        let mut input = unchanged(view);
        self.apply(&mut input)?;
        Ok((version, input))
    }

    fn apply(self, input: &mut ProfileInput) -> Result<(), WebError> {
        if given(&self.pull_interval_secs).is_some() {
            let secs = number("pull_interval_secs", &self.pull_interval_secs)?;
            // The service checks the range (R-SCHED-1); a negative one is no interval at all.
            input.pull_interval_secs = u64::try_from(secs)
                .map_err(|_| WebError::BadForm("pull_interval_secs: must not be negative".into()))?;
        }
        input.push = self.push.is_some();
        input.enabled = self.enabled.is_some();
        let Value::Object(connector) = &mut input.connector else {
            return Ok(());
        };
        let set = |connector: &mut Map<String, Value>, key: &str, v: Option<String>| {
            connector.insert(key.to_string(), Value::String(v.unwrap_or_default().trim().to_string()));
        };
        match connector.get("kind").and_then(Value::as_str) {
            Some("dav") => {
                set(connector, "url", self.url);
                set(connector, "username", self.username);
                // Left empty: not sent, so the stored secret is kept when
                // the destination stays (R-SVC-API-3).
                if let Some(password) = self.password.filter(|p| !p.is_empty()) {
                    connector.insert("password".into(), Value::String(password));
                }
            }
            Some("vdir") => set(connector, "root", self.root),
            _ => {}
        }
        Ok(())
    }
}

/// The stored profile as an input that saves it unchanged: public settings
/// as stored, secrets left out (so kept, R-SVC-API-3), the mail connector
/// beside the main one as the API takes it.
pub fn unchanged(view: &ProfileView) -> ProfileInput {
    let mut connector = view.connector.as_object().cloned().unwrap_or_default();
    let mail = connector.remove("mail");
    connector.insert("kind".into(), Value::String(view.connector_kind.clone()));
    ProfileInput {
        name: view.name.clone(),
        user_id: None,
        connector: Value::Object(connector),
        mail,
        rules: view.rules.clone(),
        pull_interval_secs: u64::try_from(view.pull_interval_secs).unwrap_or_default(),
        push: view.push,
        enabled: view.enabled,
    }
}

/// `input` naming `href` as the collection of `class` (R-COL-1).
pub fn choose_collection(input: &mut ProfileInput, class: &str, href: &str) {
    if let Value::Object(connector) = &mut input.connector {
        let collections = connector
            .entry("collections")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(c) = collections {
            c.insert(class.to_string(), Value::String(href.to_string()));
        } else {
            *collections = Value::Object(Map::from_iter([(class.to_string(), Value::String(href.to_string()))]));
        }
    }
}
