//! crmsync's own data on Graph items: single-value extended properties
//! (https://learn.microsoft.com/en-us/graph/api/resources/singlevaluelegacyextendedproperty)
//! and its open extension on To Do tasks
//! (https://learn.microsoft.com/en-us/graph/api/resources/opentypeextension).
//! The ids are in [`super::ids`], shared with the Graph connector.

use serde_json::Value;

pub(crate) use super::ids::{EXTENSION_NAME, UID_PROPERTY};

/// The value of the extended property `id` (ids compare case-insensitively).
pub(crate) fn get(item: &Value, id: &str) -> Option<String> {
    item["singleValueExtendedProperties"]
        .as_array()?
        .iter()
        .find(|p| p["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .and_then(|p| p["value"].as_str())
        .map(str::to_string)
}

/// Field `key` of crmsync's open extension.
pub(crate) fn extension(item: &Value, key: &str) -> Option<String> {
    item["extensions"]
        .as_array()?
        .iter()
        .find(|e| {
            e["extensionName"].as_str() == Some(EXTENSION_NAME)
                || e["id"].as_str().is_some_and(|id| id.ends_with(EXTENSION_NAME))
        })
        .and_then(|e| e[key].as_str())
        .map(str::to_string)
}
