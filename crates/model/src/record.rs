//! What every CRM record shares, and the entity kinds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Record ids are UUID text: stable across backends and safe in URLs and hrefs.
pub type Id = String;

/// The kinds of CRM record. Participants and journal entries belong to
/// their activity/record and are not entities of their own in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    User,
    Account,
    Contact,
    Lead,
    Activity,
    Opportunity,
    Case,
}

impl EntityKind {
    pub const ALL: [EntityKind; 7] = [
        EntityKind::User,
        EntityKind::Account,
        EntityKind::Contact,
        EntityKind::Lead,
        EntityKind::Activity,
        EntityKind::Opportunity,
        EntityKind::Case,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Account => "account",
            EntityKind::Contact => "contact",
            EntityKind::Lead => "lead",
            EntityKind::Activity => "activity",
            EntityKind::Opportunity => "opportunity",
            EntityKind::Case => "case",
        }
    }

    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed pointer to a record, e.g. an activity's *regarding* link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct RecordRef {
    pub entity: EntityKind,
    pub id: Id,
}

/// Metadata every record carries (SPEC §1). The store assigns all of it:
/// `version` starts at 1 and grows by one with every update, and it is what
/// optimistic concurrency (`If-Match`) compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordMeta {
    pub id: Id,
    pub owner_id: Id,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub version: i64,
}

/// A stored record: metadata plus the entity's editable fields, flat in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Record<F> {
    #[serde(flatten)]
    pub meta: RecordMeta,
    #[serde(flatten)]
    pub fields: F,
}

impl<F> Record<F> {
    pub fn id(&self) -> &str {
        &self.meta.id
    }
    pub fn owner_id(&self) -> &str {
        &self.meta.owner_id
    }
    pub fn version(&self) -> i64 {
        self.meta.version
    }
}

/// A field that failed validation; `field` names it the way the API's JSON does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, ToSchema)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks an entity's fields before they are stored, so that the API and the
/// sync engine reject the same bad input with the same message.
pub trait Validate {
    fn validate(&self) -> Result<(), ValidationError>;
}

/// Shared check: a required text field must hold something besides blanks.
pub(crate) fn require_text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

/// A name people and logs read: one line of visible text. Control
/// characters (NUL, newline, ESC, …) would forge lines in a text log and
/// break the store (PostgreSQL refuses NUL); bidirectional overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) make a name display as another
/// (R-API-14).
pub fn check_name(field: &str, value: &str) -> Result<(), ValidationError> {
    require_text(field, value)?;
    let misleading = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    match value.chars().find(|&c| c.is_control() || misleading(c)) {
        Some(c) => Err(ValidationError::new(
            field,
            format!(
                "must not contain control or text-direction characters (found U+{:04X})",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

/// Shared check: an optional e-mail address must at least look like one.
pub(crate) fn check_email(field: &str, value: Option<&str>) -> Result<(), ValidationError> {
    match value {
        Some(v) if !v.is_empty() && !looks_like_email(v) => {
            Err(ValidationError::new(field, "is not an e-mail address"))
        }
        _ => Ok(()),
    }
}

/// Deliberately loose (RFC 5322 allows far more than any regex here would):
/// one `@` with something on both sides and no white space.
pub fn looks_like_email(v: &str) -> bool {
    match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !v.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

pub(crate) fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_api_14_names_refuse_control_and_direction_characters() {
        for bad in ["a\nb", "a\0", "\u{202E}evil", "x\u{1b}[31m", "tab\there", ""] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
        for good in ["Alice", "Zoë O'Brien-Smith", "山田 太郎", "عمر"] {
            assert!(check_name("name", good).is_ok(), "{good:?}");
        }
    }
}
