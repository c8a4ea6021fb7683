//! Text the store could not keep, refused at the door (R-API-14).
//!
//! PostgreSQL cannot store U+0000 in a text column (SQLite can), so a NUL
//! that reached the store failed there as a database error, which looked
//! like an outage (503, "retry") on one backend and worked on the other.
//! Checking every request's path, query and JSON body here makes the answer
//! the same on both backends and tells the client what to change.

use serde_json::{Map, Value};

pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The JSON path (`participants[0].party.name`, the form serde_path_to_error
/// gives) of the first string, or object key, holding NUL.
pub fn first_nul_in_object(map: &Map<String, Value>) -> Option<String> {
    in_object(map, "")
}

fn in_object(map: &Map<String, Value>, path: &str) -> Option<String> {
    map.iter().find_map(|(key, value)| {
        if key.contains('\0') {
            // A key is not a field of its own: blame the object holding it.
            return Some(if path.is_empty() {
                ".".to_owned()
            } else {
                path.to_owned()
            });
        }
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        in_value(value, child)
    })
}

fn in_value(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| in_value(v, format!("{path}[{i}]"))),
        Value::Object(map) => in_object(map, &path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nul_at(v: Value) -> Option<String> {
        first_nul_in_object(v.as_object().unwrap())
    }

    #[test]
    fn finds_nul_in_values_and_keys_at_any_depth() {
        assert_eq!(nul_at(json!({"a": "x", "b": [1, "ok"]})), None);
        assert_eq!(nul_at(json!({"name": "a\u{0}"})).as_deref(), Some("name"));
        assert_eq!(
            nul_at(json!({"p": [{"party": {"name": "ok"}}, {"party": {"name": "\u{0}"}}]})).as_deref(),
            Some("p[1].party.name")
        );
        assert_eq!(nul_at(json!({"rules": {"k\u{0}": 1}})).as_deref(), Some("rules"));
        assert_eq!(nul_at(json!({"k\u{0}": 1})).as_deref(), Some("."));
    }
}
