//! The canonical field map: the one shape both sides of a pair are reduced to
//! before the engine compares them.
//!
//! The mapping turns a CRM record and a groupware item (vCard, iCalendar) into
//! a `FieldMap` of normalised text values; the engine merges three of them
//! (base, CRM, groupware) field by field (R-EDIT-2) without knowing what any
//! field means. An absent key and an empty value are the same thing, so a field
//! cleared on one side compares equal to a field the other side never had.
//!
//! Key names are a contract between the mapping and the engine, listed in
//! [`keys`]: a contact's keys are [`crate::ContactFields`]' field names, with
//! addresses as `business_address.street` and so on; an activity's keys are
//! [`crate::ActivityFields`]' field names. Values are normalised text: times in
//! RFC 3339 UTC (`2026-11-21T09:00:00Z`), dates as `2026-11-21`, lists sorted
//! and joined by `\n`, structured values (participants, recurrence) as
//! canonical JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Keys the engine itself reads (pairing, notes, windows); the mapping may add more.
pub mod keys {
    pub const FIRST_NAME: &str = "first_name";
    pub const LAST_NAME: &str = "last_name";
    pub const COMPANY: &str = "company";
    pub const EMAILS: [&str; 3] = ["email1", "email2", "email3"];
    pub const PHONES: [&str; 6] = [
        "phone_business",
        "phone_business2",
        "phone_home",
        "phone_mobile",
        "phone_fax",
        "phone_other",
    ];
    /// Contact notes / activity description: the part above the separator (R-FIELD-5).
    pub const NOTES: &str = "notes";
    pub const DESCRIPTION: &str = "description";
    /// The non-system journal entries as rendered below the separator. Outbound
    /// only: an edit of this part in groupware never flows back (R-FIELD-5).
    pub const JOURNAL: &str = "journal";
    pub const SUBJECT: &str = "subject";
    pub const START: &str = "start";
    pub const END: &str = "end";
    pub const DUE: &str = "due";
    pub const UID: &str = "ical_uid";
    pub const STATE: &str = "state";
    pub const KIND: &str = "kind";
    /// The profile user's own answer (PARTSTAT) to an appointment they attend,
    /// split out of `participants` so that it can flow from their calendar even
    /// where the appointment is read-only for them (R-CAL-7).
    pub const OWN_RESPONSE: &str = "own_response";
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldMap(BTreeMap<String, String>);

impl FieldMap {
    pub fn new() -> Self {
        FieldMap(BTreeMap::new())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Sets `key`; an empty value removes it (absent and empty are equal).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        if value.is_empty() {
            self.0.remove(&key);
        } else {
            self.0.insert(key, value);
        }
    }

    /// Sets `key` from an optional value; `None` removes it.
    pub fn set_opt(&mut self, key: impl Into<String>, value: Option<impl Into<String>>) {
        match value {
            Some(v) => self.set(key, v),
            None => {
                self.0.remove(&key.into());
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys whose values differ between `self` and `other`, in order.
    pub fn changed_keys<'a>(&'a self, other: &'a FieldMap) -> BTreeSet<&'a str> {
        self.keys()
            .chain(other.keys())
            .filter(|k| self.get(k) != other.get(k))
            .collect()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for FieldMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = FieldMap::new();
        for (k, v) in iter {
            map.set(k, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent() {
        let mut m = FieldMap::new();
        m.set("a", "1");
        m.set("a", "");
        assert!(m.is_empty());
        let cleared: FieldMap = [("b", "")].into_iter().collect();
        assert_eq!(cleared, FieldMap::new());
    }

    #[test]
    fn changed_keys_lists_both_sides() {
        let a: FieldMap = [("x", "1"), ("y", "2")].into_iter().collect();
        let b: FieldMap = [("y", "3"), ("z", "4")].into_iter().collect();
        let keys: Vec<_> = a.changed_keys(&b).into_iter().collect();
        assert_eq!(keys, vec!["x", "y", "z"]);
    }
}
