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

/// `If-Match` as the API reads it (R-API-4): one quoted version, or `*`
/// (which a write refuses with 428: it would be a blind overwrite).
pub const IF_MATCH_PATTERN: &str = r#"^(\*|"[0-9]+")$"#;

const ERROR_REF: &str = "#/components/schemas/ErrorBody";

/// Completes `doc` (the serialized utoipa document) in place.
pub fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, method, op);
            }
        }
    }
    add_links(doc);
    constrain_schemas(doc);
}

/// Text that is more than blanks (`require_text` of the model): JSON Schema
/// patterns are unanchored, so one non-blank character anywhere.
const NOT_BLANK: &str = r"\S";
/// A name (`check_name` of the model, R-API-14): not blank, and no control
/// or text-direction character.
const NAME: &str = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$";

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
        ("NewJournalEntry", "text", text(NOT_BLANK)),
    ] {
        if let Some(Value::Object(p)) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
        {
            p.extend(rule.as_object().cloned().unwrap_or_default());
        }
    }
    // A contact or lead needs one of these, not blank.
    let one_of_names = |fields: &[&str]| {
        Value::Array(
            fields
                .iter()
                .map(|f| json!({ "required": [f], "properties": { *f: { "type": "string", "pattern": NOT_BLANK } } }))
                .collect(),
        )
    };
    if let Some(contact) = schemas.get_mut("ContactFields") {
        contact["anyOf"] = one_of_names(&["first_name", "last_name", "company", "email1"]);
    }
    if let Some(lead) = schemas.get_mut("LeadFields") {
        lead["anyOf"] = one_of_names(&["last_name", "company", "email"]);
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

fn complete_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let has_body = op.contains_key("requestBody");
    constrain_if_match(op);
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
    if has_body && matches!(method, "post" | "put") {
        allow_control_keys(op);
    }
}

/// Gives the `If-Match` header its pattern.
fn constrain_if_match(op: &mut Map<String, Value>) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params
        .iter_mut()
        .filter(|p| p["in"] == "header" && p["name"] == "If-Match")
    {
        p["schema"] = json!({ "type": "string", "pattern": IF_MATCH_PATTERN });
    }
}

/// A record body may carry `version` (instead of `If-Match`) and `owner_id`
/// beside the entity's fields (R-API-4, R-API-5); the entity schemas do not
/// name them, so the request body says so.
fn allow_control_keys(op: &mut Map<String, Value>) {
    let Some(content) = op.get_mut("requestBody").and_then(|b| b.get_mut("content")) else {
        return;
    };
    let Some(media) = content.get_mut("application/json") else {
        return;
    };
    let Some(schema) = media.get("schema").cloned() else {
        return;
    };
    let is_fields = schema
        .get("$ref")
        .and_then(Value::as_str)
        .is_some_and(|r| r.ends_with("Fields"));
    if !is_fields {
        return;
    }
    media["schema"] = json!({
        "allOf": [
            schema,
            {
                "type": "object",
                "properties": {
                    "version": { "type": ["integer", "null"], "format": "int64", "minimum": 1,
                        "description": "The version read, instead of `If-Match` (R-API-4)" },
                    "owner_id": { "type": ["string", "null"],
                        "description": "The owner; only an admin may name another user (R-API-5)" }
                }
            }
        ]
    });
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
    ];
    let mut plan: Vec<(String, &str, &str, Vec<String>)> = records
        .iter()
        .map(|(one, _)| {
            let mut ops = vec![format!("get{one}"), format!("update{one}"), format!("delete{one}")];
            ops.push(format!("list{one}Journal"));
            ops.push(format!("add{one}JournalEntry"));
            if *one == "Contact" {
                ops.extend(["enableContactSynchronize".into(), "disableContactSynchronize".into()]);
            }
            if *one == "Activity" {
                ops.extend(["getActivityParticipants".into(), "replaceActivityParticipants".into()]);
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
