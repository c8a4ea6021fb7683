//! R-FIELD-1 for Graph contacts (https://learn.microsoft.com/en-us/graph/api/resources/contact):
//! names, company, e-mails (`emailAddresses[]`, first three), phones
//! (`businessPhones[0..2]`, `homePhones[0]`, `mobilePhone`; fax and other
//! have no v1.0 property and use their MAPI properties), the three
//! `physicalAddress`es and `personalNotes`. The photo is a separate Graph
//! resource and is not mapped (the CRM keeps its own, R-GRAPH-7).

use crmsync_model::FieldMap;
use serde_json::{Map, Value, json};

use crate::contact_fields::{ADDRESS_KINDS, ADDRESS_PARTS};
use crate::notes::{join_notes, split_notes};
use crate::text::{norm_line, norm_multiline};

use super::props;

/// PidTagBusinessFaxNumber and PidTagOtherTelephoneNumber
/// (https://learn.microsoft.com/en-us/office/client-developer/outlook/mapi/pidtagbusinessfaxnumber-canonical-property).
pub(crate) use super::ids::{FAX_PROPERTY, OTHER_PHONE_PROPERTY};

const NAMES: [(&str, &str); 10] = [
    ("prefix", "title"),
    ("first_name", "givenName"),
    ("middle_name", "middleName"),
    ("last_name", "surname"),
    ("suffix", "generation"),
    ("company", "companyName"),
    ("job_title", "jobTitle"),
    ("department", "department"),
    ("website", "businessHomePage"),
    ("phone_mobile", "mobilePhone"),
];

/// Graph's address object and the FieldMap's parts, in `ADDRESS_PARTS` order.
const ADDRESS_KEYS: [&str; 5] = ["street", "city", "state", "postalCode", "countryOrRegion"];
const GRAPH_ADDRESSES: [&str; 3] = ["businessAddress", "homeAddress", "otherAddress"];

/// Every FieldMap key a Graph contact carries.
pub(crate) fn keys() -> Vec<String> {
    let mut keys: Vec<String> = NAMES.iter().map(|(k, _)| k.to_string()).collect();
    keys.extend(
        [
            "email1",
            "email2",
            "email3",
            "phone_business",
            "phone_business2",
            "phone_home",
        ]
        .map(String::from),
    );
    keys.extend(["phone_fax", "phone_other", "notes", "journal"].map(String::from));
    for kind in ADDRESS_KINDS {
        keys.extend(ADDRESS_PARTS.iter().map(|p| format!("{kind}.{p}")));
    }
    keys
}

fn strings(item: &Value, key: &str) -> Vec<String> {
    item[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(norm_line).collect())
        .unwrap_or_default()
}

pub(crate) fn read(item: &Value) -> FieldMap {
    let mut map = FieldMap::new();
    for (key, graph) in NAMES {
        map.set(key, item[graph].as_str().map(norm_line).unwrap_or_default());
    }
    let emails: Vec<String> = item["emailAddresses"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["address"].as_str()).map(norm_line).collect())
        .unwrap_or_default();
    for (i, e) in emails.iter().filter(|e| !e.is_empty()).take(3).enumerate() {
        map.set(format!("email{}", i + 1), e.clone());
    }
    let business: Vec<String> = strings(item, "businessPhones")
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    map.set("phone_business", business.first().cloned().unwrap_or_default());
    map.set("phone_business2", business.get(1).cloned().unwrap_or_default());
    let home: Vec<String> = strings(item, "homePhones")
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    map.set("phone_home", home.first().cloned().unwrap_or_default());
    map.set(
        "phone_fax",
        props::get(item, FAX_PROPERTY)
            .map(|v| norm_line(&v))
            .unwrap_or_default(),
    );
    map.set(
        "phone_other",
        props::get(item, OTHER_PHONE_PROPERTY)
            .map(|v| norm_line(&v))
            .unwrap_or_default(),
    );
    for (kind, graph) in ADDRESS_KINDS.iter().zip(GRAPH_ADDRESSES) {
        for (part, key) in ADDRESS_PARTS.iter().zip(ADDRESS_KEYS) {
            let value = item[graph][key].as_str().map(norm_multiline).unwrap_or_default();
            map.set(format!("{kind}.{part}"), value);
        }
    }
    let (notes, journal) = split_notes(item["personalNotes"].as_str().unwrap_or_default());
    map.set("notes", notes);
    map.set("journal", journal);
    map
}

/// Entries of `previous`'s array `key` past the first `mapped`: values
/// crmsync does not map, kept as they are (R-MAP-6).
fn extras(previous: Option<&Value>, key: &str, mapped: usize) -> Vec<Value> {
    previous
        .and_then(|p| p[key].as_array())
        .map(|a| a.iter().skip(mapped).cloned().collect())
        .unwrap_or_default()
}

/// Every property crmsync maps, from `fields`; `previous` lends what the
/// FieldMap does not hold (extra phones and e-mails, e-mail display names).
pub(crate) fn write(fields: &FieldMap, previous: Option<&Value>) -> Map<String, Value> {
    let get = |k: &str| fields.get(k).unwrap_or_default().to_string();
    let mut out = Map::new();
    for (key, graph) in NAMES {
        out.insert(graph.into(), json!(get(key)));
    }
    let display = [get("first_name"), get("last_name")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let display = if display.is_empty() { get("company") } else { display };
    out.insert("displayName".into(), json!(display));

    let old_emails = previous
        .and_then(|p| p["emailAddresses"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut emails: Vec<Value> = ["email1", "email2", "email3"]
        .iter()
        .filter_map(|k| fields.get(k))
        .map(|address| {
            old_emails
                .iter()
                .find(|e| e["address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(address)))
                .cloned()
                .unwrap_or_else(|| json!({ "address": address, "name": address }))
        })
        .collect();
    emails.extend(extras(previous, "emailAddresses", 3));
    out.insert("emailAddresses".into(), Value::Array(emails));

    let mut business: Vec<Value> = ["phone_business", "phone_business2"]
        .iter()
        .filter_map(|k| fields.get(k))
        .map(|p| json!(p))
        .collect();
    business.extend(extras(previous, "businessPhones", 2));
    out.insert("businessPhones".into(), Value::Array(business));
    let mut home: Vec<Value> = fields.get("phone_home").map(|p| json!(p)).into_iter().collect();
    home.extend(extras(previous, "homePhones", 1));
    out.insert("homePhones".into(), Value::Array(home));

    out.insert(
        "singleValueExtendedProperties".into(),
        json!([
            { "id": FAX_PROPERTY, "value": get("phone_fax") },
            { "id": OTHER_PHONE_PROPERTY, "value": get("phone_other") },
        ]),
    );
    for (kind, graph) in ADDRESS_KINDS.iter().zip(GRAPH_ADDRESSES) {
        let mut address = Map::new();
        for (part, key) in ADDRESS_PARTS.iter().zip(ADDRESS_KEYS) {
            address.insert(key.into(), json!(get(&format!("{kind}.{part}"))));
        }
        out.insert(graph.into(), Value::Object(address));
    }
    out.insert(
        "personalNotes".into(),
        json!(join_notes(&get("notes"), &get("journal"))),
    );
    out
}
