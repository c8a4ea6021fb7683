//! Calendar objects in the dialects of real clients (fixtures/ical): what
//! they map to (R-MAP-1, R-MAP-2, R-FIELD-3, R-FIELD-4), and that
//! rendering them unchanged changes nothing (R-MAP-6, R-CAL-5).

use crate::common;
use common::{ctx, fixture, fixtures};
use crmsync_mapping::{CalendarComponent, parse_ical, render_ical};
use crmsync_model::ActivityKind;

fn parsed(file: &str) -> crmsync_mapping::ParsedCalendarItem {
    parse_ical(&fixture(&format!("ical/{file}"))).unwrap()
}

#[test]
fn r_field_3_outlook_series_with_windows_zone() {
    let item = parsed("outlook_recurring.ics");
    let f = &item.fields;
    assert_eq!(item.component, CalendarComponent::Event);
    assert_eq!(item.kind, ActivityKind::Appointment);
    // "W. Europe Standard Time" is Berlin: 10:00 CET is 09:00 UTC.
    assert_eq!(f.get("start"), Some("2026-11-03T09:00:00Z"));
    assert_eq!(f.get("end"), Some("2026-11-03T10:00:00Z"));
    assert_eq!(item.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(f.get("time_zone"), Some("Europe/Berlin"));
    assert_eq!(f.get("subject"), Some("Pipeline review"));
    assert_eq!(f.get("location"), Some("Room 4.12"));
    assert_eq!(
        f.get("description"),
        Some("Weekly pipeline review.\nBring your numbers.")
    );
    assert_eq!(f.get("priority"), Some("5"));
    assert_eq!(f.get("reminder_minutes"), Some("15"));
    assert_eq!(f.get("privacy"), None, "CLASS:PUBLIC is the default");
    let rec: serde_json::Value = serde_json::from_str(f.get("recurrence").unwrap()).unwrap();
    assert_eq!(rec["rule"], "FREQ=WEEKLY;UNTIL=20261222T090000Z;BYDAY=TU;WKST=MO");
    assert_eq!(rec["exdates"], serde_json::json!(["2026-11-10T09:00:00Z"]));
    assert_eq!(
        rec["overrides"],
        serde_json::json!([{
            "recurrence_id": "2026-11-17T09:00:00Z",
            "start": "2026-11-18T13:00:00Z",
            "subject": "Pipeline review (moved)"
        }])
    );
    let people: serde_json::Value = serde_json::from_str(f.get("participants").unwrap()).unwrap();
    // The room is a resource, not a participant; addresses are lower-cased.
    assert_eq!(
        people,
        serde_json::json!([
            {"email": "lena.vogt@partner.example", "response": "tentative", "role": "optional"},
            {"email": "maria.schulz@contoso.example", "role": "organizer"},
            {"email": "tom.berger@contoso.example", "response": "needs_action", "role": "required"}
        ])
    );
}

#[test]
fn r_field_3_google_meeting_in_utc() {
    let item = parsed("google_meeting.ics");
    let f = &item.fields;
    assert_eq!(f.get("start"), Some("2026-11-21T09:00:00Z"));
    assert_eq!(f.get("end"), Some("2026-11-21T09:30:00Z"));
    assert_eq!(item.time_zone, None);
    assert_eq!(f.get("time_zone"), None, "only series carry their zone in the map");
    // Folded and escaped text comes back whole.
    assert_eq!(
        f.get("description"),
        Some("Quarterly check-in with the Lagos team. Agenda: volumes, pricing, and the new warehouse contract.")
    );
    assert_eq!(f.get("location"), None, "an empty LOCATION is no location");
    // The display alarm is the reminder; the e-mail alarm is not.
    assert_eq!(f.get("reminder_minutes"), Some("10"));
    assert_eq!(item.last_modified.unwrap().to_rfc3339(), "2026-11-01T12:00:00+00:00");
    assert!(
        f.get("participants")
            .unwrap()
            .contains("\"email\":\"priya@startup.example\",\"role\":\"organizer\"")
    );
}

#[test]
fn r_field_3_apple_all_day_event() {
    let item = parsed("apple_allday.ics");
    let f = &item.fields;
    assert_eq!(f.get("all_day"), Some("true"));
    assert_eq!(f.get("start"), Some("2026-10-02"));
    assert_eq!(f.get("end"), Some("2026-10-04"));
    assert_eq!(f.get("categories"), Some("Travel"));
    assert_eq!(f.get("privacy"), Some("private"));
    assert_eq!(f.get("reminder_minutes"), Some("900"));
}

#[test]
fn r_field_3_evolution_libical_zone_path() {
    let item = parsed("evolution_event.ics");
    // TZID "/freeassociation.sourceforge.net/Europe/Prague" resolves through X-LIC-LOCATION.
    assert_eq!(item.time_zone.as_deref(), Some("Europe/Prague"));
    assert_eq!(item.fields.get("start"), Some("2026-10-12T12:00:00Z"));
    assert_eq!(item.fields.get("location"), Some("Na Příkopě 1, Praha"));
}

#[test]
fn r_field_4_thunderbird_task() {
    let item = parsed("thunderbird_todo.ics");
    let f = &item.fields;
    assert_eq!(item.component, CalendarComponent::Todo);
    assert_eq!(item.kind, ActivityKind::Task);
    assert_eq!(f.get("start"), Some("2026-11-02T08:00:00Z"));
    assert_eq!(f.get("due"), Some("2026-11-06T16:00:00Z"));
    assert_eq!(f.get("percent_complete"), Some("40"));
    assert_eq!(f.get("priority"), Some("1"));
    assert_eq!(f.get("state"), None, "IN-PROCESS is open");
    assert_eq!(f.get("reminder_minutes"), Some("60"));
    assert_eq!(f.get("end"), None, "a task has no end in the map");
}

#[test]
fn r_map_5_phone_call_task_keeps_its_type() {
    let item = parsed("nextcloud_phone_call.ics");
    let f = &item.fields;
    assert_eq!(item.kind, ActivityKind::PhoneCall);
    assert_eq!(f.get("kind"), Some("phone_call"));
    // The type category is bookkeeping, not a user category.
    assert_eq!(f.get("categories"), Some("Customers"));
    assert_eq!(f.get("state"), Some("completed"));
    assert_eq!(f.get("completed_at"), Some("2026-11-02T08:15:00Z"));
    assert_eq!(f.get("regarding"), Some("contact/c-42"));
}

#[test]
fn r_map_5_category_alone_still_names_the_type() {
    let item = parsed("evolution_fax_todo.ics");
    assert_eq!(item.kind, ActivityKind::Fax);
    assert_eq!(item.fields.get("categories"), None);
    assert_eq!(item.fields.get("due"), Some("2026-11-07"));
    assert_eq!(item.fields.get("all_day"), Some("true"));
    assert_eq!(item.fields.get("privacy"), Some("confidential"));
}

#[test]
fn r_cal_5_unchanged_fields_render_byte_identical() {
    for (name, text) in fixtures("ical") {
        let item = parse_ical(&text).unwrap();
        let out = render_ical(&item.fields, &item.uid, Some(&text), &ctx()).unwrap();
        assert_eq!(out, text, "{name}: nothing changed, so nothing may be rewritten");
    }
}

#[test]
fn r_map_1_r_map_2_fresh_render_round_trips() {
    for (name, text) in fixtures("ical") {
        let item = parse_ical(&text).unwrap();
        let out = render_ical(&item.fields, &item.uid, None, &ctx()).unwrap();
        let back = parse_ical(&out).unwrap();
        assert_eq!(back.fields, item.fields, "{name}:\n{out}");
        assert_eq!(back.component, item.component);
        assert_eq!(back.uid, item.uid);
    }
}

#[test]
fn r_map_6_unknown_properties_and_components_survive_an_edit() {
    for (name, text) in fixtures("ical") {
        let item = parse_ical(&text).unwrap();
        let mut fields = item.fields.clone();
        fields.set("subject", "Renamed by the CRM");
        let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
        for line in text.split_inclusive('\n') {
            let keep = line.starts_with("X-")
                || line.starts_with("BEGIN:VTIMEZONE")
                || line.starts_with("TZID")
                || line.starts_with("PRODID")
                || line.starts_with("TRANSP")
                || line.starts_with("CREATED")
                || line.starts_with("ATTENDEE")
                || line.starts_with("ORGANIZER")
                || line.starts_with("SEQUENCE");
            if keep {
                assert!(out.contains(line), "{name}: lost {line:?}");
            }
        }
        assert_eq!(parse_ical(&out).unwrap().fields, fields, "{name}");
    }
}
