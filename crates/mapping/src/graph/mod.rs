//! Microsoft Graph JSON ↔ FieldMap (issue #15), beside vCard and
//! iCalendar and not through them: contacts (R-FIELD-1), events
//! (R-FIELD-3) and To Do tasks (R-FIELD-4, R-MAP-5).
//!
//! An update is a PATCH of the properties whose mapped value changed, worked
//! out against the item as it is: properties crmsync does not map, and
//! mapped ones nobody changed, are never sent, so Graph keeps them as they
//! are (R-MAP-6). What Graph cannot carry (a contact's photo, an event's
//! regarding link, a series' extra dates) is left out of the comparison and
//! kept from the CRM ([`graph_comparable`], [`graph_overlay`]). A series'
//! exceptions and cancelled occurrences travel (R-GRAPH-20, [`occurrences`]).

mod contact;
mod event;
mod html;
pub mod ids;
pub mod occurrences;
mod props;
mod recurrence;
mod task;
mod time;

use chrono::{DateTime, Utc};
use crmsync_model::FieldMap;
use serde_json::{Map, Value};

use crate::content_line::check_bytes;
use crate::error::{Format, MappingError};
use crate::ical::MappedRecurrence;

/// Which Graph resource a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraphResource {
    Contact,
    Event,
    Task,
}

/// A Graph item read into fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedGraphItem {
    pub fields: FieldMap,
    /// crmsync's UID property; else an event's `iCalUId`; else the Graph id.
    pub uid: String,
    pub last_modified: Option<DateTime<Utc>>,
}

pub(crate) fn invalid(message: &str) -> MappingError {
    MappingError::Malformed {
        format: Format::GraphJson,
        line: 0,
        message: message.to_string(),
    }
}

fn object(bytes: &[u8]) -> Result<Value, MappingError> {
    let text = check_bytes(Format::GraphJson, bytes)?;
    let value: Value = serde_json::from_str(text).map_err(|e| MappingError::Malformed {
        format: Format::GraphJson,
        line: e.line(),
        message: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(invalid("the item is not a JSON object"));
    }
    Ok(value)
}

/// The UID crmsync itself wrote on `item` (its extended property, a task's
/// open extension), without the fallbacks [`parse_graph`] takes for items
/// made elsewhere: what the Graph connector's "is this UID already there?"
/// answers from (R-GRAPH-5).
pub fn crmsync_uid(resource: GraphResource, item: &Value) -> Option<String> {
    match resource {
        GraphResource::Task => props::extension(item, "uid"),
        _ => props::get(item, props::UID_PROPERTY),
    }
}

fn uid_of(resource: GraphResource, item: &Value) -> Option<String> {
    let ours = crmsync_uid(resource, item);
    let ical = match resource {
        GraphResource::Event => item["iCalUId"].as_str().map(str::to_string),
        _ => None,
    };
    ours.or(ical)
        .or_else(|| item["id"].as_str().map(str::to_string))
        .filter(|u| !u.trim().is_empty())
}

fn read(resource: GraphResource, item: &Value) -> Result<FieldMap, MappingError> {
    match resource {
        GraphResource::Contact => Ok(contact::read(item)),
        GraphResource::Event => event::read(item),
        GraphResource::Task => task::read(item),
    }
}

fn write(
    resource: GraphResource,
    fields: &FieldMap,
    previous: Option<&Value>,
) -> Result<Map<String, Value>, MappingError> {
    match resource {
        GraphResource::Contact => Ok(contact::write(fields, previous)),
        GraphResource::Event => event::write(fields, previous),
        GraphResource::Task => Ok(task::write(fields, previous)),
    }
}

/// Reads a Graph item as the connector fetched it.
pub fn parse_graph(resource: GraphResource, bytes: &[u8]) -> Result<ParsedGraphItem, MappingError> {
    let item = object(bytes)?;
    let uid = uid_of(resource, &item).ok_or(MappingError::MissingUid {
        format: Format::GraphJson,
    })?;
    let mut fields = read(resource, &item)?;
    if resource != GraphResource::Contact {
        fields.set("ical_uid", uid.clone());
    }
    Ok(ParsedGraphItem {
        fields,
        uid,
        last_modified: time::instant(&item, "lastModifiedDateTime"),
    })
}

/// The body to send: without `previous`, the new item (POST) with its UID
/// (and a task's CRM type); with it, a PATCH of what changed.
pub fn render_graph(
    resource: GraphResource,
    fields: &FieldMap,
    uid: &str,
    previous: Option<&str>,
) -> Result<String, MappingError> {
    let previous = previous.map(|p| object(p.as_bytes())).transpose()?;
    let new = write(resource, fields, previous.as_ref())?;
    let body = match &previous {
        None => {
            let mut item = new;
            match resource {
                GraphResource::Task => {
                    item.insert("extensions".into(), task::extension(fields, uid));
                }
                _ => {
                    let props = item
                        .entry("singleValueExtendedProperties")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = props {
                        list.push(serde_json::json!({ "id": props::UID_PROPERTY, "value": uid }));
                    }
                }
            }
            item
        }
        Some(item) => {
            // Compared with the item's own values rendered the same way, so
            // a different spelling of an unchanged value is not a change.
            let old = write(resource, &read(resource, item)?, Some(item))?;
            new.into_iter().filter(|(k, v)| old.get(k) != Some(v)).collect()
        }
    };
    Ok(Value::Object(body).to_string())
}

fn keys(resource: GraphResource) -> Vec<String> {
    match resource {
        GraphResource::Contact => contact::keys(),
        GraphResource::Event => event::KEYS
            .iter()
            .chain(std::iter::once(&event::PARTICIPANTS))
            .map(|k| k.to_string())
            .collect(),
        GraphResource::Task => task::KEYS.iter().map(|k| k.to_string()).collect(),
    }
}

/// The series without its RDATEs, which Graph cannot carry (its patterns
/// have no extra dates); rule, exceptions and cancelled occurrences stay.
fn without_rdates(recurrence: &str) -> String {
    MappedRecurrence::from_json(recurrence)
        .map(|r| {
            MappedRecurrence {
                rdates: Vec::new(),
                ..r
            }
            .finish()
            .to_json()
        })
        .unwrap_or_default()
}

/// A CRM record's fields reduced to what a Graph item of `resource` can
/// hold, so the engine never takes a field Graph cannot carry for one the
/// user cleared (R-GRAPH-7).
pub fn graph_comparable(resource: GraphResource, crm: &FieldMap) -> FieldMap {
    let mut out = FieldMap::new();
    for key in keys(resource) {
        let value = crm.get(&key).unwrap_or_default();
        let value = if key == "recurrence" && !value.is_empty() {
            without_rdates(value)
        } else {
            value.to_string()
        };
        out.set(key, value);
    }
    out
}

/// The CRM record's full fields with what Graph carries taken from
/// `merged`: the rest (photo, regarding, a series' extra dates while the
/// rest of the series is unchanged) stays as the CRM has it.
pub fn graph_overlay(resource: GraphResource, merged: &FieldMap, crm: &FieldMap) -> FieldMap {
    let mut out = crm.clone();
    for key in keys(resource) {
        let value = merged.get(&key).unwrap_or_default();
        if key == "recurrence" && crm.get(&key).is_some_and(|c| without_rdates(c) == value) {
            continue;
        }
        out.set(key, value);
    }
    out
}
