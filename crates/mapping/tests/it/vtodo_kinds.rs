//! R-MAP-2 / R-MAP-5 / R-FIELD-4: task, phone call, fax and letter travel
//! as VTODO and come back as what they were.

use crate::common;
use common::{TestDirectory, ctx, fixture};
use crmsync_mapping::{CalendarComponent, activity_to_fields, fields_to_activity, parse_ical, render_ical};
use crmsync_model::{ActivityFields, ActivityKind, ActivityState};

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn task(kind: ActivityKind) -> ActivityFields {
    let mut a = ActivityFields::new(kind, format!("{} with Ben", kind.as_str()));
    a.start = Some(utc("2026-11-10T09:00:00Z"));
    a.due = Some(utc("2026-11-12T17:00:00Z"));
    a.priority = Some(3);
    a.percent_complete = Some(25);
    a.description = Some("Discuss the contract.".into());
    a.categories = vec!["Customers".into()];
    a.reminder_minutes = Some(30);
    a.ical_uid = Some(format!("uid-{}", kind.as_str()));
    // A task's end and participants are CRM-only; they must survive.
    a.end = Some(utc("2026-11-10T09:20:00Z"));
    a
}

#[test]
fn r_map_2_every_task_like_kind_is_a_vtodo_and_round_trips() {
    for kind in [
        ActivityKind::Task,
        ActivityKind::PhoneCall,
        ActivityKind::Fax,
        ActivityKind::Letter,
    ] {
        let a = task(kind);
        let fields = activity_to_fields(&a, &TestDirectory);
        let out = render_ical(&fields, a.ical_uid.as_deref().unwrap(), None, &ctx()).unwrap();
        assert!(out.contains("BEGIN:VTODO\r\n") && !out.contains("VEVENT"), "{out}");
        let item = parse_ical(&out).unwrap();
        assert_eq!(item.component, CalendarComponent::Todo);
        assert_eq!(item.kind, kind);
        assert_eq!(item.fields, fields, "{kind:?}");
        let back = fields_to_activity(&item.fields, &a, &TestDirectory);
        assert_eq!(back, a, "{kind:?}: nothing lost, end kept from the CRM");
    }
}

#[test]
fn r_map_5_phone_call_carries_type_property_and_category() {
    let a = task(ActivityKind::PhoneCall);
    let out = render_ical(&activity_to_fields(&a, &TestDirectory), "pc-1", None, &ctx()).unwrap();
    assert!(out.contains("X-CRMSYNC-TYPE:phone_call\r\n"));
    assert!(out.contains("CATEGORIES:Customers,Phone call\r\n"), "{out}");
}

#[test]
fn r_map_5_phone_call_edited_in_groupware_comes_back_as_phone_call() {
    let a = task(ActivityKind::PhoneCall);
    let written = render_ical(&activity_to_fields(&a, &TestDirectory), "pc-2", None, &ctx()).unwrap();
    // A client edits the title and, like many do, drops the X- property.
    let edited = written
        .replace("SUMMARY:phone_call with Ben", "SUMMARY:Call Ben back")
        .replace("X-CRMSYNC-TYPE:phone_call\r\n", "");
    let item = parse_ical(&edited).unwrap();
    assert_eq!(item.kind, ActivityKind::PhoneCall);
    let back = fields_to_activity(&item.fields, &a, &TestDirectory);
    assert_eq!(back.kind, ActivityKind::PhoneCall);
    assert_eq!(back.subject, "Call Ben back");
    assert_eq!(back.categories, vec!["Customers".to_string()]);
}

#[test]
fn r_field_4_completing_a_task_in_groupware() {
    let text = fixture("ical/thunderbird_todo.ics");
    let completed = text.replace("STATUS:IN-PROCESS", "STATUS:COMPLETED").replace(
        "PERCENT-COMPLETE:40",
        "PERCENT-COMPLETE:100\r\nCOMPLETED:20261103T100000Z",
    );
    let item = parse_ical(&completed).unwrap();
    let base = parse_ical(&text)
        .unwrap()
        .to_activity(&ActivityFields::new(ActivityKind::Task, ""), &TestDirectory);
    assert_eq!(base.state, ActivityState::Open);
    let done = item.to_activity(&base, &TestDirectory);
    assert_eq!(done.state, ActivityState::Completed);
    assert_eq!(done.completed_at, Some(utc("2026-11-03T10:00:00Z")));
    assert_eq!(done.percent_complete, Some(100));
    assert_eq!(done.time_zone.as_deref(), Some("Europe/Berlin"));
}

#[test]
fn r_field_4_reopening_writes_needs_action_and_drops_completed() {
    let text = fixture("ical/nextcloud_phone_call.ics");
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.remove("state");
    fields.remove("completed_at");
    fields.set("percent_complete", "50");
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert!(
        out.contains("STATUS:NEEDS-ACTION\r\n") && !out.contains("COMPLETED:"),
        "{out}"
    );
    assert!(out.contains("X-APPLE-SORT-ORDER:700000000\r\n"));
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_map_2_kind_change_between_event_and_task_is_refused() {
    let text = fixture("ical/google_meeting.ics");
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.set("kind", "task");
    let err = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap_err();
    assert!(err.to_string().contains("VTODO"), "{err}");
}

#[test]
fn r_field_4_date_only_reminder_relates_to_due() {
    let mut a = ActivityFields::new(ActivityKind::Letter, "Send contract");
    a.due = Some(utc("2026-11-20T00:00:00Z"));
    a.all_day = true;
    a.reminder_minutes = Some(1440);
    let fields = activity_to_fields(&a, &TestDirectory);
    let out = render_ical(&fields, "letter-1", None, &ctx()).unwrap();
    assert!(out.contains("DUE;VALUE=DATE:20261120\r\n"), "{out}");
    assert!(out.contains("TRIGGER;RELATED=END:-P1D\r\n"), "{out}");
    let mut back = parse_ical(&out).unwrap().fields;
    back.remove("ical_uid");
    assert_eq!(back, fields);
}
