//! Graph JSON ↔ FieldMap (issue #15). Fixtures are shaped after the
//! published examples of the contact, event and todoTask resources
//! (https://learn.microsoft.com/en-us/graph/api/resources/contact,
//! .../event, .../todotask).

use crmsync_mapping::{FieldMap, GraphResource, graph_comparable, graph_overlay, parse_graph, render_graph};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/graph/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn patch(resource: GraphResource, fields: &FieldMap, previous: &str) -> Value {
    serde_json::from_str(&render_graph(resource, fields, "uid", Some(previous)).unwrap()).unwrap()
}

// R-FIELD-1: every contact field Graph has is read from its documented property.
#[test]
fn r_field_1_graph_contact_reads_every_field() {
    let parsed = parse_graph(GraphResource::Contact, fixture("contact.json").as_bytes()).unwrap();
    let f = &parsed.fields;
    let expect = [
        ("prefix", "Dr."),
        ("first_name", "Pavel"),
        ("middle_name", "J"),
        ("last_name", "Bowen"),
        ("suffix", "Jr."),
        ("company", "Contoso"),
        ("job_title", "Product Manager"),
        ("department", "Sales"),
        ("website", "https://contoso.com"),
        ("email1", "Pavel@contoso.com"),
        ("email2", "pavel@fabrikam.com"),
        ("phone_business", "+1 732 555 0102"),
        ("phone_business2", "+1 732 555 0103"),
        ("phone_home", "+1 425 555 0109"),
        ("phone_mobile", "+1 425 555 0102"),
        ("phone_fax", "+1 732 555 0190"),
        ("business_address.street", "123 Some street"),
        ("business_address.city", "Seattle"),
        ("business_address.region", "WA"),
        ("business_address.postal_code", "98121"),
        ("business_address.country", "USA"),
        ("notes", "Met at Ignite."),
    ];
    for (key, value) in expect {
        assert_eq!(f.get(key), Some(value), "{key}");
    }
    assert_eq!(f.get("email3"), None);
    assert_eq!(f.get("phone_other"), None);
    // No crmsync UID yet: the Graph id stands in.
    assert_eq!(parsed.uid, "AAMkAGI2THk0AAA=");
}

// R-MAP-6: an update sends only the properties whose value changed; extra
// phones and e-mails, display names and unmapped properties are kept.
#[test]
fn r_map_6_graph_update_patches_only_what_changed() {
    let previous = fixture("contact.json");
    let mut fields = parse_graph(GraphResource::Contact, previous.as_bytes()).unwrap().fields;
    fields.set("job_title", "Director");
    fields.set("phone_business", "+1 732 555 0999");
    let body = patch(GraphResource::Contact, &fields, &previous);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["businessPhones", "jobTitle"], "{body}");
    assert_eq!(body["jobTitle"], "Director");
    assert_eq!(
        body["businessPhones"],
        json!(["+1 732 555 0999", "+1 732 555 0103", "+1 732 555 0104"]),
        "the third business phone crmsync does not map stays"
    );

    fields.set("email2", "");
    fields.set("email1", "pavel@contoso.com");
    let body = patch(GraphResource::Contact, &fields, &previous);
    assert_eq!(
        body["emailAddresses"],
        json!([{ "name": "Pavel Bowen", "address": "Pavel@contoso.com" }]),
        "an e-mail that only changed case keeps its entry and display name"
    );
    let unchanged = parse_graph(GraphResource::Contact, previous.as_bytes()).unwrap().fields;
    assert_eq!(patch(GraphResource::Contact, &unchanged, &previous), json!({}));
}

// R-FIELD-1: a new contact carries every mapped property and crmsync's UID,
// and reads back to the same fields.
#[test]
fn r_field_1_graph_contact_round_trips() {
    let fields = parse_graph(GraphResource::Contact, fixture("contact.json").as_bytes())
        .unwrap()
        .fields;
    let created = render_graph(GraphResource::Contact, &fields, "crm-contact-1", None).unwrap();
    let mut stored: Value = serde_json::from_str(&created).unwrap();
    stored["id"] = json!("new-id");
    let back = parse_graph(GraphResource::Contact, stored.to_string().as_bytes()).unwrap();
    assert_eq!(back.uid, "crm-contact-1");
    assert_eq!(back.fields, fields);
    assert_eq!(stored["displayName"], "Pavel Bowen");
}

// R-FIELD-3: a Windows zone name, attendees with type and response, the
// reminder, sensitivity and categories; rooms are not participants.
#[test]
fn r_field_3_graph_event_reads_zone_attendees_and_reminder() {
    let parsed = parse_graph(GraphResource::Event, fixture("event.json").as_bytes()).unwrap();
    let f = &parsed.fields;
    assert_eq!(
        f.get("start"),
        Some("2026-11-30T20:00:00Z"),
        "12:00 Pacific is 20:00 UTC"
    );
    assert_eq!(f.get("end"), Some("2026-11-30T22:00:00Z"));
    assert_eq!(f.get("subject"), Some("Plan summer company picnic"));
    assert_eq!(f.get("description"), Some("Let's kick-start this event planning!"));
    assert_eq!(f.get("location"), Some("Conf Room 3"));
    assert_eq!(f.get("privacy"), Some("private"));
    assert_eq!(f.get("reminder_minutes"), Some("15"));
    assert_eq!(f.get("categories"), Some("Customer\nRed category"));
    assert_eq!(
        parsed.uid,
        "040000008200E00074C5B7101A82E00800000000D3D70B8A1A5AD301000000000000000010000000"
    );
    let people: Value = serde_json::from_str(f.get("participants").unwrap()).unwrap();
    assert_eq!(
        people,
        json!([
            {"email": "alexw@contoso.com", "response": "needs_action", "role": "optional"},
            {"email": "anna@contoso.com", "role": "organizer"},
            {"email": "danas@contoso.com", "response": "accepted", "role": "required"},
        ])
    );
}

// R-FIELD-3 / R-MAP-6: a moved meeting is written in the zone the item is in,
// and only start and end are sent (the HTML body stays untouched).
#[test]
fn r_field_3_graph_event_moves_in_its_own_zone() {
    let previous = fixture("event.json");
    let mut fields = parse_graph(GraphResource::Event, previous.as_bytes()).unwrap().fields;
    fields.set("start", "2026-11-30T21:00:00Z");
    fields.set("end", "2026-11-30T23:00:00Z");
    let body = patch(GraphResource::Event, &fields, &previous);
    assert_eq!(
        body,
        json!({
            "start": {"dateTime": "2026-11-30T13:00:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2026-11-30T15:00:00", "timeZone": "Pacific Standard Time"},
        })
    );
}

// R-FIELD-3: all-day events are whole days with an exclusive end; a series
// keeps its rule and zone (R-CAL-4).
#[test]
fn r_field_3_graph_all_day_and_series_round_trip() {
    let mut fields = FieldMap::new();
    for (k, v) in [
        ("kind", "appointment"),
        ("subject", "Offsite"),
        ("all_day", "true"),
        ("start", "2026-12-01"),
        ("end", "2026-12-03"),
    ] {
        fields.set(k, v);
    }
    let created: Value =
        serde_json::from_str(&render_graph(GraphResource::Event, &fields, "crm-1", None).unwrap()).unwrap();
    assert_eq!(created["isAllDay"], true);
    assert_eq!(created["end"]["dateTime"], "2026-12-03T00:00:00", "exclusive end");
    let back = parse_graph(GraphResource::Event, created.to_string().as_bytes()).unwrap();
    fields.set("ical_uid", "crm-1");
    assert_eq!(back.fields, fields);

    let mut series = FieldMap::new();
    for (k, v) in [
        ("kind", "appointment"),
        ("subject", "Standup"),
        ("start", "2026-12-07T08:00:00Z"),
        ("end", "2026-12-07T08:15:00Z"),
        ("time_zone", "Europe/Berlin"),
        ("recurrence", r#"{"rule":"FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"}"#),
    ] {
        series.set(k, v);
    }
    let created: Value =
        serde_json::from_str(&render_graph(GraphResource::Event, &series, "crm-2", None).unwrap()).unwrap();
    assert_eq!(
        created["start"],
        json!({"dateTime": "2026-12-07T09:00:00", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(created["recurrence"]["pattern"]["type"], "weekly");
    assert_eq!(created["recurrence"]["range"]["numberOfOccurrences"], 10);
    let back = parse_graph(GraphResource::Event, created.to_string().as_bytes()).unwrap();
    assert_eq!(back.fields.get("time_zone"), Some("Europe/Berlin"));
    let rule: Value = serde_json::from_str(back.fields.get("recurrence").unwrap()).unwrap();
    let original: Value = serde_json::from_str(series.get("recurrence").unwrap()).unwrap();
    assert_eq!(
        rule["rule"]
            .as_str()
            .map(|r| r.contains("COUNT=10") && r.contains("BYDAY=MO,WE")),
        Some(true),
        "{rule} vs {original}"
    );
}

// R-MAP-5: a phone call stays a phone call: its type is in crmsync's open
// extension and its category; Outlook's finer status survives an edit.
#[test]
fn r_map_5_graph_task_keeps_the_crm_type() {
    let previous = fixture("task.json");
    let parsed = parse_graph(GraphResource::Task, previous.as_bytes()).unwrap();
    let f = &parsed.fields;
    assert_eq!(parsed.uid, "crm-activity-7");
    assert_eq!(f.get("kind"), Some("phone_call"));
    assert_eq!(f.get("ical_uid"), Some("crm-activity-7"));
    assert_eq!(
        f.get("categories"),
        Some("Important"),
        "the type's category is not a user category"
    );
    assert_eq!(f.get("priority"), Some("1"));
    assert_eq!(f.get("due"), Some("2026-11-25T08:00:00Z"));
    assert_eq!(f.get("state"), None, "in progress is open");

    let mut edited = f.clone();
    edited.set("subject", "Call back (2nd try)");
    let body = patch(GraphResource::Task, &edited, &previous);
    assert_eq!(body, json!({"title": "Call back (2nd try)"}));

    // Without the extension (a client dropped it) the category still tells.
    let mut bare: Value = serde_json::from_str(&previous).unwrap();
    bare.as_object_mut().unwrap().remove("extensions");
    let again = parse_graph(GraphResource::Task, bare.to_string().as_bytes()).unwrap();
    assert_eq!(again.fields.get("kind"), Some("phone_call"));

    let created: Value =
        serde_json::from_str(&render_graph(GraphResource::Task, f, "crm-activity-7", None).unwrap()).unwrap();
    assert_eq!(created["extensions"][0]["kind"], "phone_call");
    assert_eq!(created["categories"], json!(["Important", "Phone call"]));
}

// R-GRAPH-7: what Graph cannot carry (a photo; a series' extra dates, see
// graph_occurrences.rs) is left out of the comparison and kept from the CRM
// on the way back.
#[test]
fn r_graph_7_fields_graph_cannot_carry_stay_in_the_crm() {
    let mut crm = FieldMap::new();
    crm.set("first_name", "Ada");
    crm.set("photo", "data:image/png;base64,AAAA");
    let comparable = graph_comparable(GraphResource::Contact, &crm);
    assert_eq!(comparable.get("photo"), None);
    let mut merged = comparable.clone();
    merged.set("first_name", "Ada M.");
    let back = graph_overlay(GraphResource::Contact, &merged, &crm);
    assert_eq!(back.get("photo"), crm.get("photo"));
    assert_eq!(back.get("first_name"), Some("Ada M."));
}

// Bad input is a clear error, never a panic or a guess.
#[test]
fn graph_bad_input_is_refused_with_a_reason() {
    let err = parse_graph(GraphResource::Contact, b"{not json").unwrap_err();
    assert!(err.to_string().contains("Graph JSON"), "{err}");
    let zone = json!({"id": "x", "start": {"dateTime": "2026-11-30T12:00:00", "timeZone": "Nowhere Standard Time"}, "end": null});
    let err = parse_graph(GraphResource::Event, zone.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("Nowhere Standard Time"), "{err}");
    assert!(parse_graph(GraphResource::Task, b"[]").is_err());
}
