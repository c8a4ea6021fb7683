//! Where crmsync keeps an item's UID in Graph, so a re-run after a crash, a
//! reset or a second create finds the item instead of making a duplicate
//! (R-PAIR-1, R-SAFE-2): contacts and events have no UID property a client
//! can set, so it is a single-value extended property (filterable with
//! `$filter`); To Do tasks have no extended properties, so it is a field of
//! crmsync's open extension, which also carries the CRM activity type (R-MAP-5).
//! The mapping crate reads the same places (`crmsync_mapping::graph`).

use serde_json::{Value, json};

use crate::folder::Resource;

/// A named MAPI string property in crmsync's own property set
/// (https://learn.microsoft.com/en-us/graph/api/resources/extended-properties-overview#id-formats).
pub const UID_PROPERTY: &str = "String {8d3a5f0e-6c1b-4b8e-9a27-1f0c2d7e4b91} Name crmsyncUid";
/// A contact's business fax and other phone have no v1.0 property; the
/// mapping keeps them in their MAPI properties (PidTagBusinessFaxNumber,
/// PidTagOtherTelephoneNumber), which get_many `$expand`s.
pub const FAX_PROPERTY: &str = "String 0x3A24";
pub const OTHER_PHONE_PROPERTY: &str = "String 0x3A1F";
/// crmsync's open extension on To Do tasks
/// (https://learn.microsoft.com/en-us/graph/api/resources/opentypeextension).
pub const EXTENSION_NAME: &str = "com.crmsync.item";

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
