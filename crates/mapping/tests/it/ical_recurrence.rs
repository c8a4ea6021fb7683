//! R-CAL-4 series (rule, EXDATE, RDATE, overridden instances) and the time
//! handling under them: zones, all-day dates, floating times (R-MAP-8).

use crate::common;
use common::{TestDirectory, ctx, fixture};
use crmsync_mapping::{activity_to_fields, fingerprint, parse_ical, render_ical};
use crmsync_model::{ActivityFields, ActivityKind, OccurrenceOverride, Recurrence};

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn recurrence_of(item: &crmsync_mapping::ParsedCalendarItem) -> serde_json::Value {
    serde_json::from_str(item.fields.get("recurrence").unwrap()).unwrap()
}

fn set_recurrence(fields: &mut crmsync_mapping::FieldMap, rec: &serde_json::Value) {
    fields.set("recurrence", serde_json::to_string(rec).unwrap());
}

#[test]
fn r_cal_4_added_exception_extends_the_exdate_line_in_the_items_zone() {
    let text = fixture("ical/outlook_recurring.ics");
    let item = parse_ical(&text).unwrap();
    let mut rec = recurrence_of(&item);
    rec["exdates"] = serde_json::json!(["2026-11-10T09:00:00Z", "2026-11-24T09:00:00Z"]);
    let mut fields = item.fields.clone();
    set_recurrence(&mut fields, &rec);
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert!(
        out.contains("EXDATE;TZID=\"W. Europe Standard Time\":20261110T100000,20261124T100000\r\n"),
        "{out}"
    );
    // The moved occurrence is untouched.
    let ov_start = text
        .find("BEGIN:VEVENT\r\nORGANIZER")
        .map(|_| text.rfind("BEGIN:VEVENT").unwrap())
        .unwrap();
    assert!(out.ends_with(&text[ov_start..]));
    assert!(out.contains("SEQUENCE:3\r\n"), "a removed occurrence is a date change");
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_4_moving_an_occurrence_rewrites_its_override_only() {
    let text = fixture("ical/outlook_recurring.ics");
    let item = parse_ical(&text).unwrap();
    let mut rec = recurrence_of(&item);
    rec["overrides"][0]["start"] = serde_json::json!("2026-11-19T13:00:00Z");
    let mut fields = item.fields.clone();
    set_recurrence(&mut fields, &rec);
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    let ov = &out[out.rfind("BEGIN:VEVENT").unwrap()..];
    assert!(
        ov.contains("DTSTART;TZID=\"W. Europe Standard Time\":20261119T140000\r\n"),
        "{ov}"
    );
    assert!(
        ov.contains("DTEND;TZID=\"W. Europe Standard Time\":20261119T150000\r\n"),
        "{ov}"
    );
    // What did not change in the occurrence keeps its exact line.
    for kept in [
        "RECURRENCE-ID;TZID=W. Europe Standard Time:20261117T100000",
        "SUMMARY;LANGUAGE=en-US:Pipeline review (moved)",
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        "LOCATION;LANGUAGE=en-US:Room 4.12",
    ] {
        assert!(ov.contains(kept), "{kept}");
    }
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_4_dropped_override_removes_its_component() {
    let text = fixture("ical/outlook_recurring.ics");
    let item = parse_ical(&text).unwrap();
    let mut rec = recurrence_of(&item);
    rec.as_object_mut().unwrap().remove("overrides");
    let mut fields = item.fields.clone();
    set_recurrence(&mut fields, &rec);
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert_eq!(out.matches("BEGIN:VEVENT").count(), 1);
    assert!(!out.contains("RECURRENCE-ID"));
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_4_crm_series_with_exception_and_override_round_trips() {
    let mut a = ActivityFields::new(ActivityKind::Appointment, "Stand-up");
    a.start = Some(utc("2026-11-02T08:30:00Z"));
    a.end = Some(utc("2026-11-02T08:45:00Z"));
    a.time_zone = Some("Europe/Berlin".into());
    a.ical_uid = Some("series-1".into());
    a.recurrence = Some(Recurrence {
        rule: "FREQ=DAILY;COUNT=10;BYDAY=MO,TU,WE,TH,FR".into(),
        rdates: vec![utc("2026-11-15T08:30:00Z")],
        exdates: vec![utc("2026-11-04T08:30:00Z")],
        overrides: vec![OccurrenceOverride {
            recurrence_id: utc("2026-11-05T08:30:00Z"),
            start: Some(utc("2026-11-05T09:30:00Z")),
            end: Some(utc("2026-11-05T09:45:00Z")),
            subject: Some("Stand-up (late)".into()),
            location: None,
            description: None,
        }],
    });
    let fields = activity_to_fields(&a, &TestDirectory);
    let out = render_ical(&fields, "series-1", None, &ctx()).unwrap();
    assert!(out.contains("DTSTART;TZID=Europe/Berlin:20261102T093000\r\n"), "{out}");
    assert!(out.contains("EXDATE;TZID=Europe/Berlin:20261104T093000\r\n"));
    assert!(out.contains("RDATE;TZID=Europe/Berlin:20261115T093000\r\n"));
    assert!(out.contains("RECURRENCE-ID;TZID=Europe/Berlin:20261105T093000\r\n"));
    let item = parse_ical(&out).unwrap();
    assert_eq!(item.fields, fields);
    // The override's end equals its start plus the series' length, so the
    // map (and the CRM, after normalisation) need not repeat it.
    assert!(!fields.get("recurrence").unwrap().contains("\"end\""));
    let back = item.to_activity(&ActivityFields::new(ActivityKind::Appointment, ""), &TestDirectory);
    assert_eq!(
        back.recurrence.as_ref().unwrap().overrides[0].start,
        Some(utc("2026-11-05T09:30:00Z"))
    );
    assert_eq!(back.time_zone.as_deref(), Some("Europe/Berlin"));
}

#[test]
fn r_cal_4_cancelled_occurrence_reads_as_an_exception() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n\
BEGIN:VEVENT\r\nUID:g-1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261102T100000Z\r\nDTEND:20261102T110000Z\r\n\
RRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:g-1\r\nRECURRENCE-ID:20261109T100000Z\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261109T100000Z\r\n\
DTEND:20261109T110000Z\r\nSTATUS:CANCELLED\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let item = parse_ical(text).unwrap();
    assert_eq!(
        recurrence_of(&item)["exdates"],
        serde_json::json!(["2026-11-09T10:00:00Z"])
    );
    // Kept as it is when nothing changed; no EXDATE line is invented.
    let out = render_ical(&item.fields, &item.uid, Some(text), &ctx()).unwrap();
    assert_eq!(out, text);
}

#[test]
fn r_cal_4_all_day_series_uses_dates_everywhere() {
    let mut a = ActivityFields::new(ActivityKind::Appointment, "Inventory day");
    a.all_day = true;
    a.time_zone = Some("America/New_York".into());
    // Midnight in New York, as the CRM stores all-day activities.
    a.start = Some(utc("2026-12-01T05:00:00Z"));
    a.end = Some(utc("2026-12-02T05:00:00Z"));
    a.recurrence = Some(Recurrence {
        rule: "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=6".into(),
        exdates: vec![utc("2027-01-01T05:00:00Z")],
        ..Default::default()
    });
    let fields = activity_to_fields(&a, &TestDirectory);
    assert_eq!(fields.get("start"), Some("2026-12-01"));
    assert_eq!(fields.get("time_zone"), None, "dates have no zone");
    let out = render_ical(&fields, "allday-1", None, &ctx()).unwrap();
    assert!(out.contains("DTSTART;VALUE=DATE:20261201\r\n"), "{out}");
    assert!(out.contains("DTEND;VALUE=DATE:20261202\r\n"));
    assert!(out.contains("EXDATE;VALUE=DATE:20270101\r\n"));
    let mut item = parse_ical(&out).unwrap();
    item.fields.remove("ical_uid");
    assert_eq!(item.fields, fields);
    let back = item.to_activity(&a, &TestDirectory);
    assert_eq!(
        back.start, a.start,
        "a date maps back to midnight in the activity's zone"
    );
}

#[test]
fn r_map_8_equal_instants_in_different_zones_are_the_same_fields() {
    let event = |dtstart: &str, dtend: &str, extra: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n{extra}BEGIN:VEVENT\r\nUID:same\r\nDTSTAMP:20260101T000000Z\r\n\
{dtstart}\r\n{dtend}\r\nSUMMARY:Same instant\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    let variants = [
        event("DTSTART:20261121T090000Z", "DTEND:20261121T100000Z", ""),
        event(
            "DTSTART;TZID=Europe/Berlin:20261121T100000",
            "DTEND;TZID=Europe/Berlin:20261121T110000",
            "",
        ),
        event("DTSTART;TZID=America/New_York:20261121T040000", "DURATION:PT1H", ""),
        event(
            "DTSTART;TZID=W. Europe Standard Time:20261121T100000",
            "DTEND;TZID=W. Europe Standard Time:20261121T110000",
            "",
        ),
        // Floating times are read in the calendar's X-WR-TIMEZONE.
        event(
            "DTSTART:20261121T180000",
            "DTEND:20261121T190000",
            "X-WR-TIMEZONE:Asia/Tokyo\r\n",
        ),
    ];
    // The instants are the same; each keeps the zone it names (R-MAP-19).
    let without_zone = |v: &str| {
        let mut f = parse_ical(v).unwrap().fields;
        f.remove("time_zone");
        f
    };
    let first = without_zone(&variants[0]);
    assert_eq!(first.get("start"), Some("2026-11-21T09:00:00Z"));
    for v in &variants {
        let f = without_zone(v);
        assert_eq!(f, first, "{v}");
        assert_eq!(fingerprint(&f), fingerprint(&first));
    }
    assert_eq!(
        parse_ical(&variants[1]).unwrap().fields.get("time_zone"),
        Some("Europe/Berlin")
    );
    assert_eq!(parse_ical(&variants[0]).unwrap().fields.get("time_zone"), None);
}

#[test]
fn r_map_8_times_in_a_dst_gap_use_the_offset_before_it() {
    // 02:30 does not exist in Berlin on 2026-03-29; RFC 5545 reads it with
    // the offset before the gap (+01:00), i.e. 01:30 UTC.
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:gap\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART;TZID=Europe/Berlin:20260329T023000\r\nSUMMARY:Gap\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let item = parse_ical(text).unwrap();
    assert_eq!(item.fields.get("start"), Some("2026-03-29T01:30:00Z"));
}

#[test]
fn r_map_8_changing_the_series_zone_rewrites_times_in_the_new_zone() {
    let text = fixture("ical/outlook_recurring.ics");
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.set("time_zone", "Europe/London");
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert!(out.contains("DTSTART;TZID=Europe/London:20261103T090000\r\n"), "{out}");
    assert!(out.contains("EXDATE;TZID=Europe/London:20261110T090000\r\n"));
    assert!(out.contains("RECURRENCE-ID;TZID=Europe/London:20261117T090000\r\n"));
    assert!(out.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n"));
    // The Windows zone definition stays: other clients may still refer to it.
    assert!(out.contains("TZID:W. Europe Standard Time\r\n"));
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_map_19_ambiguous_the_repeated_hour_keeps_its_instant_and_its_zone() {
    // 06:00 UTC on 2024-11-03 is the second 01:00 in New York (EST). Written
    // as local time it would read back as the first (EDT, an hour earlier),
    // so it goes out in UTC with the zone in X-CRMSYNC-TZID, and the event
    // keeps both its instant and its zone (found by the property test).
    let mut fields = crmsync_mapping::FieldMap::default();
    fields.set("kind", "appointment".to_string());
    fields.set("start", "2024-11-03T06:00:00Z".to_string());
    fields.set("end", "2024-11-03T06:30:00Z".to_string());
    fields.set("time_zone", "America/New_York".to_string());
    let mut cx = ctx();
    cx.time_zone = Some("America/New_York");
    let text = render_ical(&fields, "dst-end", None, &cx).unwrap();
    assert!(
        text.contains("DTSTART;X-CRMSYNC-TZID=America/New_York:20241103T060000Z"),
        "{text}"
    );
    let back = parse_ical(&text).unwrap();
    assert_eq!(back.fields.get("start"), Some("2024-11-03T06:00:00Z"));
    assert_eq!(back.fields.get("time_zone"), Some("America/New_York"));
    // An instant outside the repeated hour is written in its zone as before.
    fields.set("start", "2024-11-03T05:00:00Z".to_string());
    let text = render_ical(&fields, "dst-end", None, &cx).unwrap();
    assert!(text.contains("DTSTART;TZID=America/New_York:20241103T010000"), "{text}");
    // The hint is only a hint: on a value with a TZID, or an unknown zone, it
    // is ignored and the time is read as written.
    let foreign = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART;X-CRMSYNC-TZID=Mars/Olympus:20241103T060000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let item = parse_ical(foreign).unwrap();
    assert_eq!(item.fields.get("start"), Some("2024-11-03T06:00:00Z"));
    assert_eq!(item.fields.get("time_zone"), None);
}
