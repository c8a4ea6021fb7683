//! What a profile's connector settings say about the mailbox beyond where it
//! is: which existing collection each class uses (R-COL-1) and the server's
//! field length limits (R-FIELD-6). Every item connector kind's config
//! carries these same two tables, so the config file, the API and the stored
//! catalog read and check them alike.
//!
//! ```toml
//! connector = { kind = "dav", url = "…", collections = { contacts = "addressbook", calendar = "Personal" }, field_limits = { contacts = { company = 256 } } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::InvalidSetting;

/// The existing collection a profile uses per class, each by URL, path,
/// folder name or display name (R-COL-1). An absent entry: crmsync's own
/// `contacts`/`calendar`/`tasks`, created when missing (R-COL-2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectionChoice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<String>,
}

/// The longest name a choice may hold: a URL, well above any real one.
const MAX_CHOICE_LEN: usize = 2048;

impl CollectionChoice {
    pub fn is_empty(&self) -> bool {
        self.contacts.is_none() && self.calendar.is_none() && self.tasks.is_none()
    }

    /// The choice for crmsync's collection `name` (`contacts`, `calendar`, `tasks`).
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "contacts" => self.contacts.as_deref(),
            "calendar" => self.calendar.as_deref(),
            "tasks" => self.tasks.as_deref(),
            _ => None,
        }
    }

    /// Each named collection must be a name one could type: not blank, no
    /// control characters (they would reach logs), not absurdly long.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        for (class, value) in [
            ("contacts", &self.contacts),
            ("calendar", &self.calendar),
            ("tasks", &self.tasks),
        ] {
            let Some(value) = value else { continue };
            let key = format!("collections.{class}");
            if value.trim().is_empty() {
                return Err(InvalidSetting::new(
                    key,
                    "must name a collection (URL, path or display name); leave it out for crmsync's own",
                ));
            }
            if value.chars().any(char::is_control) || value.chars().count() > MAX_CHOICE_LEN {
                return Err(InvalidSetting::new(
                    key,
                    format!("must be at most {MAX_CHOICE_LEN} characters without control characters"),
                ));
            }
        }
        Ok(())
    }
}

/// The longest value the mailbox's server keeps, per class and field key
/// (`company`, `subject`, …), in characters (R-FIELD-6). The profile's rules
/// inherit them; a limit the rules set as well counts at its lower value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldLimits {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub contacts: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tasks: BTreeMap<String, usize>,
}

impl FieldLimits {
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.events.is_empty() && self.tasks.is_empty()
    }

    /// The class tables by the engine's class name (`contacts`, `events`, `tasks`).
    pub fn classes(&self) -> [(&'static str, &BTreeMap<String, usize>); 3] {
        [
            ("contacts", &self.contacts),
            ("events", &self.events),
            ("tasks", &self.tasks),
        ]
    }

    /// A key is a field key (lower-case letters, digits, `_`); a limit of
    /// 0 would empty the field and is refused.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        for (class, limits) in self.classes() {
            for (field, limit) in limits {
                let key = format!("field_limits.{class}.{field}");
                let well_formed = !field.is_empty()
                    && field
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !well_formed {
                    return Err(InvalidSetting::new(
                        key,
                        "is not a field key (lower-case letters, digits and `_`, such as `company`)",
                    ));
                }
                if *limit == 0 {
                    return Err(InvalidSetting::new(key, "must be at least 1 character"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_col_1_a_blank_choice_and_a_zero_limit_are_refused_by_key() {
        let blank = CollectionChoice {
            calendar: Some("  ".into()),
            ..Default::default()
        };
        assert_eq!(blank.validate().unwrap_err().key, "collections.calendar");
        let zero = FieldLimits {
            contacts: [("company".to_string(), 0)].into(),
            ..Default::default()
        };
        assert_eq!(zero.validate().unwrap_err().key, "field_limits.contacts.company");
        let odd = FieldLimits {
            tasks: [("Sub ject".to_string(), 5)].into(),
            ..Default::default()
        };
        assert_eq!(odd.validate().unwrap_err().key, "field_limits.tasks.Sub ject");
        assert_eq!(
            CollectionChoice {
                contacts: Some("addressbook".into()),
                ..Default::default()
            }
            .get("contacts"),
            Some("addressbook")
        );
    }
}
