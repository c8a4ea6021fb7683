//! R-GRAPH-20 / R-CAL-4: a Graph series' exceptions and cancelled
//! occurrences ↔ the overrides and EXDATEs of the FieldMap's recurrence.
//! Master shapes after https://learn.microsoft.com/en-us/graph/api/resources/event
//! (`cancelledOccurrences`, `exceptionOccurrences`, `occurrenceId`, `originalStart`).

use crmsync_mapping::{FieldMap, GraphResource, graph_comparable, graph_overlay, parse_graph, render_graph};
use serde_json::{Value, json};

fn series(start: &str, end: &str, zone: Option<&str>, all_day: bool, recurrence: Value) -> FieldMap {
    let mut f = FieldMap::new();
    for (k, v) in [
        ("kind", "appointment"),
        ("subject", "Weekly sync"),
        ("location", "Room 1"),
        ("description", "Agenda"),
        ("start", start),
        ("end", end),
    ] {
        f.set(k, v);
    }
    f.set_opt("time_zone", zone.map(str::to_string));
    if all_day {
        f.set("all_day", "true");
    }
    f.set("recurrence", recurrence.to_string());
    f
}

fn recurrence_of(fields: &FieldMap) -> Value {
    serde_json::from_str(fields.get("recurrence").unwrap()).unwrap()
}

/// What Graph would answer after the create: the body with an id, as the
/// connector shows it (the wanted lists become Graph's own, under the id).
fn as_stored(created: &str, id: &str) -> Value {
    let text = created.replace("OID..", &format!("OID.{id}."));
    let mut item: Value = serde_json::from_str(&text).unwrap();
    item["id"] = json!(id);
    item["type"] = json!("seriesMaster");
    item
}

// R-GRAPH-20: each case goes CRM → Graph body → Graph item → CRM unchanged,
// and an unchanged item gives an empty PATCH.
#[test]
fn r_graph_20_exceptions_and_cancellations_round_trip() {
    let cases = [
        (
            "moved and renamed occurrence in Berlin",
            series(
                "2026-12-07T08:00:00Z",
                "2026-12-07T09:00:00Z",
                Some("Europe/Berlin"),
                false,
                json!({"rule": "FREQ=WEEKLY;COUNT=6;BYDAY=MO", "overrides": [
                    {"recurrence_id": "2026-12-21T08:00:00Z", "start": "2026-12-21T10:00:00Z",
                     "end": "2026-12-21T11:30:00Z", "subject": "Weekly sync (moved)"}]}),
            ),
        ),
        (
            "cancelled occurrence across a DST-free winter",
            series(
                "2026-12-07T08:00:00Z",
                "2026-12-07T09:00:00Z",
                Some("Europe/Berlin"),
                false,
                json!({"rule": "FREQ=WEEKLY;COUNT=6;BYDAY=MO", "exdates": ["2026-12-14T08:00:00Z"]}),
            ),
        ),
        (
            "both, and a location-only override, in UTC",
            series(
                "2026-10-05T09:00:00Z",
                "2026-10-05T09:30:00Z",
                None,
                false,
                json!({"rule": "FREQ=DAILY;COUNT=10",
                       "exdates": ["2026-10-06T09:00:00Z", "2026-10-09T09:00:00Z"],
                       "overrides": [
                    {"recurrence_id": "2026-10-07T09:00:00Z", "location": "Room 2"},
                    {"recurrence_id": "2026-10-08T09:00:00Z", "description": "Other agenda", "start": "2026-10-08T13:00:00Z"}]}),
            ),
        ),
        (
            "all-day series with a cancelled and a renamed day",
            series(
                "2026-12-01",
                "2026-12-02",
                None,
                true,
                json!({"rule": "FREQ=WEEKLY;COUNT=4;BYDAY=TU", "exdates": ["2026-12-08"],
                       "overrides": [{"recurrence_id": "2026-12-15", "subject": "Offsite"}]}),
            ),
        ),
    ];
    for (name, fields) in cases {
        let created = render_graph(GraphResource::Event, &fields, "crm-1", None).unwrap();
        let stored = as_stored(&created, "AAMkSeries=");
        let back = parse_graph(GraphResource::Event, stored.to_string().as_bytes()).unwrap();
        assert_eq!(recurrence_of(&back.fields), recurrence_of(&fields), "{name}");
        let patch = render_graph(GraphResource::Event, &back.fields, "crm-1", Some(&stored.to_string())).unwrap();
        assert_eq!(patch, "{}", "{name}: nothing changed, nothing sent");
    }
}

// R-GRAPH-20: the master as Graph documents it, read into overrides and EXDATEs.
#[test]
fn r_graph_20_documented_master_reads() {
    // https://learn.microsoft.com/en-us/graph/api/resources/event: a daily
    // series in Central Europe, 29 May cancelled, 28 May moved half an hour.
    let master = json!({
        "id": "AAMkAGRkZTFiMDQxLWYzN=",
        "type": "seriesMaster",
        "subject": "Let's go for lunch",
        "body": {"contentType": "html", "content": "<html><body>Lunch time</body></html>"},
        "location": {"displayName": "Pub"},
        "start": {"dateTime": "2025-05-26T12:00:00.0000000", "timeZone": "Central Europe Standard Time"},
        "end": {"dateTime": "2025-05-26T12:30:00.0000000", "timeZone": "Central Europe Standard Time"},
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "endDate", "startDate": "2025-05-26", "endDate": "2025-05-30",
                      "recurrenceTimeZone": "Central Europe Standard Time"}
        },
        "cancelledOccurrences": ["OID.AAMkAGRkZTFiMDQxLWYzN=.2025-05-29"],
        "exceptionOccurrences": [{
            "id": "AAMkAGRkZTFiMDQxLWYzN...AAEA==",
            "type": "exception",
            "occurrenceId": "OID.AAMkAGRkZTFiMDQxLWYzN=.2025-05-28",
            "originalStart": "2025-05-28T10:00:00Z",
            "subject": "Let's go for lunch",
            "body": {"contentType": "html", "content": "<html><body>Lunch time</body></html>"},
            "location": {"displayName": "Pub"},
            "start": {"dateTime": "2025-05-28T09:30:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2025-05-28T10:00:00.0000000", "timeZone": "UTC"}
        }]
    });
    let parsed = parse_graph(GraphResource::Event, master.to_string().as_bytes()).unwrap();
    assert_eq!(
        recurrence_of(&parsed.fields),
        json!({
            "rule": "FREQ=DAILY;UNTIL=20250530",
            "exdates": ["2025-05-29T10:00:00Z"],
            "overrides": [{"recurrence_id": "2025-05-28T10:00:00Z", "start": "2025-05-28T09:30:00Z"}]
        })
    );
    // Without occurrenceId the UTC originalStart names the occurrence.
    let mut by_start = master.clone();
    by_start["exceptionOccurrences"][0]
        .as_object_mut()
        .unwrap()
        .remove("occurrenceId");
    let again = parse_graph(GraphResource::Event, by_start.to_string().as_bytes()).unwrap();
    assert_eq!(again.fields.get("recurrence"), parsed.fields.get("recurrence"));
}

// R-GRAPH-20, R-MAP-6: a PATCH carries only the occurrence lists that changed.
#[test]
fn r_graph_20_patch_names_only_changed_occurrences() {
    let fields = series(
        "2026-10-05T09:00:00Z",
        "2026-10-05T09:30:00Z",
        None,
        false,
        json!({"rule": "FREQ=DAILY;COUNT=10", "overrides": [{"recurrence_id": "2026-10-07T09:00:00Z", "location": "Room 2"}]}),
    );
    let stored = as_stored(
        &render_graph(GraphResource::Event, &fields, "crm-1", None).unwrap(),
        "AAMkS=",
    );
    let previous = stored.to_string();

    let mut cancelled = fields.clone();
    cancelled.set(
        "recurrence",
        json!({"rule": "FREQ=DAILY;COUNT=10", "exdates": ["2026-10-09T09:00:00Z"],
               "overrides": [{"recurrence_id": "2026-10-07T09:00:00Z", "location": "Room 2"}]})
        .to_string(),
    );
    let patch: Value =
        serde_json::from_str(&render_graph(GraphResource::Event, &cancelled, "crm-1", Some(&previous)).unwrap())
            .unwrap();
    assert_eq!(patch, json!({"cancelledOccurrences": ["OID.AAMkS=.2026-10-09"]}));

    let mut renamed = fields.clone();
    renamed.set("subject", "Daily sync");
    let patch: Value =
        serde_json::from_str(&render_graph(GraphResource::Event, &renamed, "crm-1", Some(&previous)).unwrap()).unwrap();
    assert_eq!(patch["subject"], "Daily sync");
    assert_eq!(
        patch["exceptionOccurrences"][0]["subject"], "Daily sync",
        "an exception that keeps the series' subject follows it, as a RECURRENCE-ID override would"
    );
}

// R-GRAPH-7 with R-GRAPH-20: exceptions and cancellations are compared now;
// only RDATEs (no Graph equivalent) stay out and are kept from the CRM.
#[test]
fn r_graph_20_only_extra_dates_stay_out_of_the_comparison() {
    let mut event = FieldMap::new();
    let full = r#"{"exdates":["2026-12-14T08:00:00Z"],"rdates":["2026-12-16T08:00:00Z"],"rule":"FREQ=WEEKLY"}"#;
    event.set("recurrence", full);
    let comparable = graph_comparable(GraphResource::Event, &event);
    assert_eq!(
        comparable.get("recurrence"),
        Some(r#"{"exdates":["2026-12-14T08:00:00Z"],"rule":"FREQ=WEEKLY"}"#)
    );
    let back = graph_overlay(GraphResource::Event, &comparable, &event);
    assert_eq!(
        back.get("recurrence"),
        Some(full),
        "extra dates stay while the rest is unchanged"
    );
    let mut outlook = comparable.clone();
    outlook.set("recurrence", r#"{"rule":"FREQ=WEEKLY"}"#);
    let back = graph_overlay(GraphResource::Event, &outlook, &event);
    assert_eq!(back.get("recurrence"), Some(r#"{"rule":"FREQ=WEEKLY"}"#));
}

// Bad occurrence data is a clear error, not a guess.
#[test]
fn r_graph_20_unreadable_occurrences_are_refused() {
    let base = json!({
        "id": "M", "type": "seriesMaster", "subject": "S",
        "start": {"dateTime": "2026-10-05T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-10-05T10:00:00", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "noEnd", "startDate": "2026-10-05"}}
    });
    let cases = [
        (
            "cancelled id without a date",
            json!({"cancelledOccurrences": ["OID.M.yesterday"]}),
        ),
        (
            "exception without occurrenceId or originalStart",
            json!({"exceptionOccurrences": [{"subject": "x"}]}),
        ),
        (
            "exception in an unknown zone",
            json!({"exceptionOccurrences": [{"occurrenceId": "OID.M.2026-10-06",
                "start": {"dateTime": "2026-10-06T09:00:00", "timeZone": "Mars Standard Time"}}]}),
        ),
    ];
    for (name, extra) in cases {
        let mut item = base.clone();
        item.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let err = parse_graph(GraphResource::Event, item.to_string().as_bytes());
        assert!(err.is_err(), "{name}: {err:?}");
    }
}
