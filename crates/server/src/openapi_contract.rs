//! What every operation of the document shares, added in one place after
//! the handlers' annotations are collected (issue 18): the answers that
//! come from layers rather than from a handler, the form of `If-Match`, the
//! body's control keys, and the links from a created resource to the
//! operations on it. A handler's own description of a status wins; this
//! only fills in what it left out, so the document lists every status the
//! server can answer.

use serde_json::{Map, Value, json};

/// Routes that touch no store.
const STORELESS: [&str; 2] = ["/healthz", "/api/v1/openapi.json"];

/// `If-Match` as the API reads it (R-API-4): one quoted version. `*` is
/// refused with 428 (it would be a blind overwrite), anything else with 400.
/// An empty field is an empty list (RFC 9110 §5.6.1), the same as no header.
pub const IF_MATCH_PATTERN: &str = r#"^("[0-9]{1,18}")?$"#;

/// Ids, names and tokens in a path: no control character (R-API-14).
const PATH_SEGMENT: &str = r"^[^\u0000-\u001F\u007F-\u009F/]+$";

const ERROR_REF: &str = "#/components/schemas/ErrorBody";

/// Completes `doc` (the serialized utoipa document) in place.
pub fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, op);
            }
        }
    }
    add_links(doc);
    constrain_schemas(doc);
    unwrap_defaulted_refs(doc);
}

/// utoipa writes a defaulted struct field (`#[serde(default)] address:
/// Address`) as `{ "oneOf": [ {"$ref": …} ], "default": {} }`. A choice of
/// one is that reference, and generators cannot give a model a default
/// (openapi-python-client drops the whole schema); the server fills the
/// default in anyway.
fn unwrap_defaulted_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let single_ref = map
                .get("oneOf")
                .and_then(Value::as_array)
                .filter(|choices| choices.len() == 1 && choices[0].get("$ref").is_some())
                .map(|choices| choices[0].clone());
            if let Some(Value::Object(inner)) = single_ref.filter(|_| map.contains_key("default")) {
                map.remove("oneOf");
                map.remove("default");
                map.extend(inner);
            }
            map.values_mut().for_each(unwrap_defaulted_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_defaulted_refs),
        _ => {}
    }
}

/// Text that is more than blanks (`require_text` of the model): JSON Schema
/// patterns are unanchored, so one non-blank character anywhere. The blanks
/// are the model's (`str::trim`, `char::is_whitespace`: Unicode White_Space),
/// spelled out here and in `NAME` and `EMAIL`. Not `\s`: a JSON Schema
/// pattern is an ECMA-262 regex, whose `\s` takes U+FEFF for a blank and
/// U+0085 for none (Python's takes U+001C-U+001F too), so with it the
/// document and the server disagreed: a journal text "\u{85}" was valid by
/// the document and refused as blank with 422, "\u{feff}" invalid by it
/// and accepted. The tests below prove the class equal to `char::is_whitespace`.
const NOT_BLANK: &str = r"[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// A name (`check_name` of the model, R-API-14): not blank, and no control
/// or text-direction character.
const NAME: &str = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$";

/// `looks_like_email` of the model.
const EMAIL: &str = r"^([^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)?$";

/// The rules the model's `Validate` enforces, stated in the schemas so a
/// client (and Schemathesis) knows them before it is refused with 422.
fn constrain_schemas(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return;
    };
    let text = |pattern: &str| json!({ "minLength": 1, "pattern": pattern });
    for (schema, property, rule) in [
        ("UserFields", "name", text(NAME)),
        ("AccountFields", "name", text(NOT_BLANK)),
        ("ActivityFields", "subject", text(NOT_BLANK)),
        ("OpportunityFields", "title", text(NOT_BLANK)),
        ("CaseFields", "title", text(NOT_BLANK)),
        ("NewJournalEntry", "text", text(NOT_BLANK)),
    ] {
        if let Some(Value::Object(p)) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
        {
            p.extend(rule.as_object().cloned().unwrap_or_default());
        }
    }
    // E-mail addresses as `looks_like_email` of the model takes them: empty
    // (none), or one `@` with text on both sides and no blank.
    for (schema, property) in [
        ("UserFields", "email"),
        ("ContactFields", "email1"),
        ("ContactFields", "email2"),
        ("ContactFields", "email3"),
        ("LeadFields", "email"),
    ] {
        if let Some(Value::Object(p)) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
        {
            p.insert("pattern".into(), json!(EMAIL));
        }
    }
    // A contact or lead needs one of these, not blank. Said in words: as a
    // JSON Schema `anyOf` it turns the model into a union of four types in
    // generated clients (openapi-python-client), which no caller wants.
    for (schema, rule) in [
        (
            "ContactFields",
            "A contact needs a non-blank `first_name`, `last_name`, `company` or `email1` (else 422).",
        ),
        (
            "LeadFields",
            "A lead needs a non-blank `last_name`, `company` or `email` (else 422).",
        ),
    ] {
        if let Some(Value::Object(s)) = schemas.get_mut(schema) {
            let described = match s.get("description").and_then(Value::as_str) {
                Some(d) => format!("{d}\n\n{rule}"),
                None => rule.to_owned(),
            };
            s.insert("description".into(), Value::String(described));
        }
    }
    // A record body may carry `version` (instead of `If-Match`) and
    // `owner_id` beside the entity's fields (R-API-4, R-API-5); so may a
    // conversion, for the activity's version and the new record's owner.
    for schema in [
        "AccountFields",
        "ContactFields",
        "LeadFields",
        "ActivityFields",
        "OpportunityFields",
        "CaseFields",
        "ConvertRequest",
        "UserFields",
    ] {
        if let Some(Value::Object(props)) = schemas.get_mut(schema).and_then(|s| s.get_mut("properties")) {
            props.insert(
                "version".into(),
                json!({ "type": ["integer", "null"], "format": "int64", "minimum": 1, "writeOnly": true,
                    "description": "On a replace: the version read, instead of `If-Match` (R-API-4)" }),
            );
            if schema == "UserFields" {
                continue;
            }
            props.insert(
                "owner_id".into(),
                json!({ "type": ["string", "null"], "writeOnly": true,
                    "description": "The owner; only an admin may name another user, and an update cannot change it (R-API-5)" }),
            );
        }
    }
    if let Some(Value::Object(p)) = schemas
        .get_mut("ActivityFields")
        .and_then(|s| s.pointer_mut("/properties/participants"))
    {
        p.insert(
            "description".into(),
            json!("At most one participant has the role `organizer`."),
        );
    }
}

fn complete_operation(path: &str, op: &mut Map<String, Value>) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let has_body = op.contains_key("requestBody");
    let creates_record = op.get("operationId").and_then(Value::as_str).is_some_and(|id| {
        [
            "createAccount",
            "createContact",
            "createLead",
            "createActivity",
            "createOpportunity",
            "createCase",
        ]
        .contains(&id)
    });
    constrain_parameters(op);
    let mut add = |status: &str, why: &str| {
        let responses = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        responses.entry(status).or_insert_with(
            || json!({ "description": why, "content": { "application/json": { "schema": { "$ref": ERROR_REF } } } }),
        );
    };
    add(
        "400",
        "Bad request: a path or query value that is not UTF-8, holds a control character (R-API-14) or is out of \
         range (R-API-6); malformed JSON, a body that is not an object, a value of the wrong type; a malformed \
         `If-Match`",
    );
    add("414", "Request target longer than the server reads");
    if secured {
        add("401", "Not authenticated");
    }
    if creates_record {
        add("404", "`owner_id` names no user (R-API-5)");
    }
    if has_body {
        add("413", "Body larger than `server.max_body_bytes` (R-API-11)");
        add("415", "Not sent as `application/json` (R-API-11)");
        add("422", "A text value holds NUL (R-API-14), or a value is invalid");
    }
    if !STORELESS.contains(&path) {
        add(
            "503",
            "The store is busy or unreachable; retry after `Retry-After` seconds (`retryable`: true)",
        );
    }
}

/// Gives the `If-Match` header and the path parameters their patterns.
fn constrain_parameters(op: &mut Map<String, Value>) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params.iter_mut() {
        if p["in"] == "header" && p["name"] == "If-Match" {
            p["schema"] = json!({ "type": "string", "pattern": IF_MATCH_PATTERN });
            p["description"] = json!(
                "The version read, quoted: `\"3\"`. `*` is refused with 428; an empty value is the same as no header (R-API-4)."
            );
        }
        if p["in"] == "path" {
            p["schema"] = json!({ "type": "string", "pattern": PATH_SEGMENT });
        }
    }
}

/// OpenAPI links from each create to the operations on what it created, so
/// clients and stateful testers can follow them: `(create, where the
/// created key is, parameter, operations on the item)`.
fn add_links(doc: &mut Value) {
    let records = [
        ("Account", "Accounts"),
        ("Contact", "Contacts"),
        ("Lead", "Leads"),
        ("Activity", "Activities"),
        ("Opportunity", "Opportunities"),
        ("Case", "Cases"),
    ];
    let mut plan: Vec<(String, &str, &str, Vec<String>)> = records
        .iter()
        .map(|(one, _)| {
            let mut ops = vec![format!("get{one}"), format!("update{one}"), format!("delete{one}")];
            // Only contacts and activities have journals.
            if *one == "Contact" {
                ops.extend(
                    [
                        "listContactJournal",
                        "addContactJournalEntry",
                        "enableContactSynchronize",
                        "disableContactSynchronize",
                    ]
                    .map(String::from),
                );
            }
            if *one == "Activity" {
                ops.extend(
                    [
                        "listActivityJournal",
                        "addActivityJournalEntry",
                        "getActivityParticipants",
                        "replaceActivityParticipants",
                        "convertActivity",
                    ]
                    .map(String::from),
                );
            }
            (format!("create{one}"), "$response.body#/id", "id", ops)
        })
        .collect();
    plan.push((
        "createUser".into(),
        "$response.body#/user/id",
        "id",
        ["getUser", "updateUser", "deleteUser", "rotateUserToken"]
            .map(String::from)
            .to_vec(),
    ));
    plan.push((
        "createProfile".into(),
        "$response.body#/profile/name",
        "name",
        [
            "getProfile",
            "replaceProfile",
            "deleteProfile",
            "pushProfile",
            "rotateProfilePushToken",
        ]
        .map(String::from)
        .to_vec(),
    ));
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|i| i.values_mut())
    {
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let Some((_, source, param, targets)) = plan.iter().find(|(create, ..)| create == id) else {
            continue;
        };
        let Some(created) = op.pointer_mut("/responses/201") else {
            continue;
        };
        let links: Map<String, Value> = targets
            .iter()
            .map(|t| (t.clone(), json!({ "operationId": t, "parameters": { *param: source } })))
            .collect();
        created["links"] = Value::Object(links);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters a class body of `\uXXXX` and `\uXXXX-\uXXXX` items names.
    fn class_members(class: &str) -> Vec<std::ops::RangeInclusive<u32>> {
        let code = |item: &str| u32::from_str_radix(item.trim_start_matches("\\u"), 16).expect("\\uXXXX");
        class
            .split("\\u")
            .filter(|item| !item.is_empty())
            .map(|item| format!("\\u{item}"))
            .fold(Vec::new(), |mut ranges: Vec<std::ops::RangeInclusive<u32>>, item| {
                match item.strip_suffix('-') {
                    // `\uAAAA-` opens a range the next item closes.
                    Some(start) => ranges.push(code(start)..=u32::MAX),
                    None => match ranges.last_mut() {
                        Some(open) if *open.end() == u32::MAX => *open = *open.start()..=code(&item),
                        _ => ranges.push(code(&item)..=code(&item)),
                    },
                }
                ranges
            })
    }

    /// The blanks `NOT_BLANK` excludes: its class without `[^` and `]`.
    fn white_space() -> &'static str {
        NOT_BLANK
            .strip_prefix("[^")
            .and_then(|c| c.strip_suffix(']'))
            .expect("NOT_BLANK is one negated class")
    }

    // R-API-17: the document's blanks are exactly the server's.
    #[test]
    fn r_api_17_white_space_class_is_exactly_char_is_whitespace() {
        let ranges = class_members(white_space());
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let in_class = ranges.iter().any(|r| r.contains(&(c as u32)));
            assert_eq!(in_class, c.is_whitespace(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn r_api_17_patterns_spell_out_the_blanks() {
        for pattern in [NAME, EMAIL] {
            assert!(pattern.contains(white_space()), "{pattern}");
            assert!(!pattern.contains("\\s"), "{pattern}");
        }
    }
}
