//! Where crmsync keeps an item's UID in Graph, so a re-run after a crash, a
//! reset or a second create finds the item instead of making a duplicate
//! (R-PAIR-1, R-SAFE-2): contacts and events have no UID property a client
//! can set, so it is a single-value extended property (filterable with
//! `$filter`); To Do tasks have no extended properties, so it is a field of
//! crmsync's open extension, which also carries the CRM activity type (R-MAP-5).
//! The mapping crate reads the same places (`crmsync_mapping::graph`).

use serde_json::{Value, json};

use crmsync_mapping::GraphResource;

use crate::folder::Resource;

/// The ids are the mapping's (one place for both crates, so they cannot
/// drift apart); get_many `$expand`s the fax and other-phone properties the
/// mapping keeps there.
pub use crmsync_mapping::graph::ids::{EXTENSION_NAME, FAX_PROPERTY, OTHER_PHONE_PROPERTY, UID_PROPERTY};

/// Writes `uid` into `body` where `resource` keeps it, keeping everything else.
pub(crate) fn inject(resource: Resource, body: &mut Value, uid: &str) {
    let Some(obj) = body.as_object_mut() else { return };
    match resource {
        Resource::Tasks => {
            let list = obj.entry("extensions").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            let list = list.as_array_mut().expect("an array");
            let ours = list
                .iter_mut()
                .find(|e| e.get("extensionName").and_then(Value::as_str) == Some(EXTENSION_NAME));
            match ours {
                Some(ext) => ext["uid"] = json!(uid),
                None => list.push(json!({
                    "@odata.type": "microsoft.graph.openTypeExtension",
                    "extensionName": EXTENSION_NAME,
                    "uid": uid,
                })),
            }
        }
        _ => {
            let list = obj.entry("singleValueExtendedProperties").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            let list = list.as_array_mut().expect("an array");
            list.retain(|p| {
                !p.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.eq_ignore_ascii_case(UID_PROPERTY))
            });
            list.push(json!({ "id": UID_PROPERTY, "value": uid }));
        }
    }
}

/// The UID crmsync wrote on `item` (none on items made elsewhere).
pub(crate) fn read(resource: Resource, item: &Value) -> Option<String> {
    let resource = match resource {
        Resource::Contacts => GraphResource::Contact,
        Resource::Events => GraphResource::Event,
        Resource::Tasks => GraphResource::Task,
    };
    crmsync_mapping::graph::crmsync_uid(resource, item)
}

/// The `$filter` that finds a contact or event by its UID
/// (https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get).
pub(crate) fn filter(uid: &str) -> String {
    format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROPERTY}' and ep/value eq '{}')",
        uid.replace('\'', "''")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uid_lands_once_and_other_properties_stay() {
        let mut contact = json!({"givenName": "Ada", "singleValueExtendedProperties": [{"id": "String {x} Name Other", "value": "keep"}, {"id": UID_PROPERTY, "value": "old"}]});
        inject(Resource::Contacts, &mut contact, "u-1");
        assert_eq!(
            contact["singleValueExtendedProperties"],
            json!([{"id": "String {x} Name Other", "value": "keep"}, {"id": UID_PROPERTY, "value": "u-1"}])
        );
        let mut task =
            json!({"title": "Call", "extensions": [{"extensionName": EXTENSION_NAME, "kind": "phone-call"}]});
        inject(Resource::Tasks, &mut task, "u-2");
        assert_eq!(
            task["extensions"],
            json!([{"extensionName": EXTENSION_NAME, "kind": "phone-call", "uid": "u-2"}])
        );
        assert!(filter("o'brien").contains("ep/value eq 'o''brien'"));
    }
}
