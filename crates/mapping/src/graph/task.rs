//! R-FIELD-4 for To Do tasks (https://learn.microsoft.com/en-us/graph/api/resources/todotask):
//! title, body, `startDateTime`, `dueDateTime`, `completedDateTime`,
//! `status`, `importance`, `categories`, and the CRM activity type (R-MAP-5)
//! in crmsync's open extension plus its category ("Phone call", ...).

use crmsync_model::{ActivityKind, FieldMap};
use serde_json::{Map, Value, json};

use super::{html, props, time};
use crate::error::MappingError;
use crate::ical::{Moment, kind_category};
use crate::notes::{join_notes, split_notes};
use crate::text::{join_sorted, norm_line, split_list};

pub(crate) const KEYS: [&str; 11] = [
    "kind",
    "ical_uid",
    "subject",
    "description",
    "journal",
    "state",
    "start",
    "due",
    "completed_at",
    "priority",
    "categories",
];

const TASK_KINDS: [ActivityKind; 3] = [ActivityKind::PhoneCall, ActivityKind::Fax, ActivityKind::Letter];

fn kind_of(item: &Value, categories: &[String]) -> ActivityKind {
    let tagged = props::extension(item, "kind").and_then(|k| ActivityKind::parse(k.trim()));
    if let Some(kind) = tagged.filter(|k| k.is_task_like()) {
        return kind;
    }
    TASK_KINDS
        .into_iter()
        .find(|k| {
            categories
                .iter()
                .any(|c| kind_category(*k).is_some_and(|kc| c.eq_ignore_ascii_case(kc)))
        })
        .unwrap_or(ActivityKind::Task)
}

pub(crate) fn read(item: &Value) -> Result<FieldMap, MappingError> {
    let mut map = FieldMap::new();
    let categories: Vec<String> = item["categories"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(norm_line).collect())
        .unwrap_or_default();
    let kind = kind_of(item, &categories);
    map.set("kind", kind.as_str());
    map.set("subject", item["title"].as_str().map(norm_line).unwrap_or_default());
    let (description, journal) = split_notes(&html::body_text(&item["body"]));
    map.set("description", description);
    map.set("journal", journal);
    if item["status"].as_str() == Some("completed") {
        map.set("state", "completed");
    }
    map.set_opt("start", time::read(item, "startDateTime", false)?.map(Moment::to_field));
    map.set_opt("due", time::read(item, "dueDateTime", false)?.map(Moment::to_field));
    map.set_opt(
        "completed_at",
        time::read(item, "completedDateTime", false)?.map(Moment::to_field),
    );
    let priority = match item["importance"].as_str() {
        Some("high") => "1",
        Some("low") => "9",
        _ => "",
    };
    map.set("priority", priority);
    let type_category = kind_category(kind);
    let categories = categories
        .into_iter()
        .filter(|c| !type_category.is_some_and(|t| c.eq_ignore_ascii_case(t)));
    map.set("categories", join_sorted(categories));
    Ok(map)
}

pub(crate) fn write(fields: &FieldMap, previous: Option<&Value>) -> Map<String, Value> {
    let get = |k: &str| fields.get(k).unwrap_or_default().to_string();
    let mut out = Map::new();
    out.insert("title".into(), json!(get("subject")));
    out.insert(
        "body".into(),
        json!({"contentType": "text", "content": join_notes(&get("description"), &get("journal"))}),
    );
    let previous_status = previous
        .and_then(|p| p["status"].as_str())
        .filter(|s| *s != "completed");
    let status = match fields.get("state") {
        Some("completed") => "completed",
        // An open task keeps Outlook's finer status (inProgress, deferred, ...).
        _ => previous_status.unwrap_or("notStarted"),
    };
    out.insert("status".into(), json!(status));
    for (key, graph) in [
        ("start", "startDateTime"),
        ("due", "dueDateTime"),
        ("completed_at", "completedDateTime"),
    ] {
        let value = fields
            .get(key)
            .and_then(Moment::from_field)
            .map(|m| time::write(m, time::zone_of(previous, graph).as_deref()))
            .unwrap_or(Value::Null);
        out.insert(graph.into(), value);
    }
    let importance = match fields.get("priority").and_then(|p| p.parse::<u8>().ok()) {
        Some(1..=4) => "high",
        Some(6..=9) => "low",
        _ => "normal",
    };
    out.insert("importance".into(), json!(importance));
    let kind = fields
        .get("kind")
        .and_then(ActivityKind::parse)
        .unwrap_or(ActivityKind::Task);
    let mut categories = split_list(fields.get("categories"));
    categories.extend(kind_category(kind).map(str::to_string));
    out.insert("categories".into(), json!(categories));
    out
}

/// crmsync's open extension for a new task: its UID and CRM type (R-MAP-5).
pub(crate) fn extension(fields: &FieldMap, uid: &str) -> Value {
    json!([{
        "@odata.type": "microsoft.graph.openTypeExtension",
        "extensionName": props::EXTENSION_NAME,
        "uid": uid,
        "kind": fields.get("kind").unwrap_or("task"),
    }])
}
