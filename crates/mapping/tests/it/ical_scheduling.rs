//! R-CAL-5: a first sync, a reset or a re-pairing never re-invites
//! attendees: SEQUENCE, ORGANIZER and scheduling parameters change only
//! when the CRM really changed the meeting.

use crate::common;
use common::{TestDirectory, ctx, fixture};
use crmsync_mapping::{activity_to_fields, parse_ical, render_ical};
use crmsync_model::{ActivityFields, ActivityKind};

fn outlook() -> String {
    fixture("ical/outlook_recurring.ics")
}

fn lines_starting(text: &str, prefix: &str) -> Vec<String> {
    unfold(text)
        .split("\r\n")
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

fn unfold(text: &str) -> String {
    text.replace("\r\n ", "")
}

/// The master component: everything before the second VEVENT.
fn master_of(text: &str) -> String {
    let first = text.find("BEGIN:VEVENT").unwrap();
    let second = text[first + 1..]
        .find("BEGIN:VEVENT")
        .map(|i| i + first + 1)
        .unwrap_or(text.len());
    unfold(&text[..second])
}

#[test]
fn r_cal_5_first_sync_from_the_crm_rewrites_nothing() {
    // The CRM learned the meeting from groupware earlier (or a reset forgot
    // the pair); its record, mapped back, must not touch the calendar item.
    for file in [
        "outlook_recurring.ics",
        "google_meeting.ics",
        "thunderbird_todo.ics",
        "nextcloud_phone_call.ics",
    ] {
        let text = fixture(&format!("ical/{file}"));
        let item = parse_ical(&text).unwrap();
        let activity = item.to_activity(&ActivityFields::new(item.kind, ""), &TestDirectory);
        let crm_fields = activity_to_fields(&activity, &TestDirectory);
        assert_eq!(crm_fields, item.fields, "{file}: CRM and groupware agree");
        let out = render_ical(&crm_fields, &item.uid, Some(&text), &ctx()).unwrap();
        assert_eq!(out, text, "{file}: same SEQUENCE, ORGANIZER, DTSTAMP, every byte");
    }
}

#[test]
fn r_cal_5_a_non_date_edit_keeps_sequence_and_scheduling_lines() {
    let text = outlook();
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.set("priority", "1");
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert_eq!(lines_starting(&out, "SEQUENCE"), lines_starting(&text, "SEQUENCE"));
    assert_eq!(lines_starting(&out, "ORGANIZER"), lines_starting(&text, "ORGANIZER"));
    assert_eq!(lines_starting(&out, "ATTENDEE"), lines_starting(&text, "ATTENDEE"));
    // The master changed, so its DTSTAMP says when; the override did not.
    assert!(out.contains("DTSTAMP:20261105T120000Z\r\n"));
    assert_eq!(out.matches("DTSTAMP:20261020T071500Z").count(), 1);
    assert!(out.contains("PRIORITY:1\r\n") && !out.contains("PRIORITY:5"));
    assert_eq!(
        out.replace("PRIORITY:1", "PRIORITY:5")
            .replace("DTSTAMP:20261105T120000Z", "DTSTAMP:20261020T071500Z"),
        text
    );
}

#[test]
fn r_cal_4_master_description_edit_reaches_occurrences_that_did_not_differ() {
    let text = outlook();
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.set("description", "Bring the Q4 forecast.");
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    // The moved occurrence had the master's description, so it follows;
    // its own subject and times stay, and so do its scheduling lines.
    assert_eq!(
        out.matches("DESCRIPTION:Bring the Q4 forecast.\r\n").count(),
        2,
        "{out}"
    );
    assert!(out.contains("SUMMARY;LANGUAGE=en-US:Pipeline review (moved)\r\n"));
    assert_eq!(lines_starting(&out, "SEQUENCE"), lines_starting(&text, "SEQUENCE"));
    assert_eq!(lines_starting(&out, "ATTENDEE"), lines_starting(&text, "ATTENDEE"));
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_5_moving_the_meeting_bumps_sequence_once() {
    let text = outlook();
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.set("start", "2026-11-03T10:00:00Z");
    fields.set("end", "2026-11-03T11:00:00Z");
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    let master = master_of(&out);
    assert!(master.contains("SEQUENCE:3\r\n"), "{master}");
    // Written in the zone the item already uses, with its Windows name.
    assert!(
        master.contains("DTSTART;TZID=\"W. Europe Standard Time\":20261103T110000\r\n"),
        "{master}"
    );
    assert_eq!(lines_starting(&out, "ORGANIZER"), lines_starting(&text, "ORGANIZER"));
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_5_a_changed_answer_touches_only_that_attendee() {
    let text = outlook();
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    let people = fields.get("participants").unwrap().replace(
        r#"{"email":"tom.berger@contoso.example","response":"needs_action""#,
        r#"{"email":"tom.berger@contoso.example","response":"accepted""#,
    );
    fields.set("participants", people);
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    let master = master_of(&out);
    let tom: Vec<&str> = master.split("\r\n").filter(|l| l.contains("Tom Berger")).collect();
    assert_eq!(tom.len(), 1);
    // CN and RSVP stay, ROLE stays, only PARTSTAT moves.
    assert!(tom[0].contains("PARTSTAT=ACCEPTED") && tom[0].contains("RSVP=TRUE") && tom[0].contains("REQ-PARTICIPANT"));
    for untouched in [
        "ORGANIZER;CN=Maria Schulz:mailto:maria.schulz@contoso.example",
        "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE;RSVP=TRUE;CN=Lena Vogt:mailto:Lena.Vogt@Partner.example",
        "ATTENDEE;CUTYPE=ROOM;ROLE=NON-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Room 4.12:mailto:room412@contoso.example",
        "SEQUENCE:2",
    ] {
        assert!(master.contains(untouched), "{untouched}");
    }
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_2_added_attendee_gets_a_line_with_the_directory_name() {
    let text = fixture("ical/google_meeting.ics");
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    let mut people: Vec<serde_json::Value> = serde_json::from_str(fields.get("participants").unwrap()).unwrap();
    people.push(
        serde_json::json!({"email": "maria.schulz@contoso.example", "response": "needs_action", "role": "optional"}),
    );
    people.sort_by_key(|p| p["email"].as_str().unwrap().to_string());
    fields.set("participants", serde_json::to_string(&people).unwrap());
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    let added = lines_starting(&out, "ATTENDEE;CN=\"Maria Schulz\"");
    assert_eq!(
        added,
        vec![
            "ATTENDEE;CN=\"Maria Schulz\";ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:maria.schulz@contoso.example"
        ],
        "{out}"
    );
    // Google's own attendee lines with X-NUM-GUESTS are untouched.
    for line in lines_starting(&text, "ATTENDEE") {
        assert!(unfold(&out).contains(&line));
    }
    assert!(out.contains("SEQUENCE:0\r\n"), "adding a person is not a date change");
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_5_removed_attendee_drops_only_that_line() {
    let text = outlook();
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    let people: Vec<serde_json::Value> = serde_json::from_str(fields.get("participants").unwrap()).unwrap();
    let kept: Vec<_> = people
        .into_iter()
        .filter(|p| p["email"] != "lena.vogt@partner.example")
        .collect();
    fields.set("participants", serde_json::to_string(&kept).unwrap());
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert!(!out.contains("Lena"));
    assert!(out.contains("CN=Room 4.12"), "rooms are not participants and stay");
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

#[test]
fn r_cal_2_new_appointment_from_the_crm_lists_organizer_first() {
    let mut a = ActivityFields::new(ActivityKind::Appointment, "Kick-off");
    a.start = Some("2026-12-01T09:00:00Z".parse().unwrap());
    a.end = Some("2026-12-01T10:00:00Z".parse().unwrap());
    a.time_zone = Some("Europe/Berlin".into());
    a.ical_uid = Some("new-1".into());
    a.participants = vec![
        participant("u-tom", crmsync_model::ParticipantRole::Required),
        participant("u-maria", crmsync_model::ParticipantRole::Organizer),
    ];
    let fields = activity_to_fields(&a, &TestDirectory);
    let mut cx = ctx();
    cx.time_zone = a.time_zone.as_deref();
    let out = render_ical(&fields, "new-1", None, &cx).unwrap();
    let flat = unfold(&out);
    let org = flat
        .find("ORGANIZER;CN=\"Maria Schulz\":mailto:maria.schulz@contoso.example")
        .expect(&out);
    let att = flat.find("mailto:tom.berger@contoso.example").unwrap();
    assert!(org < att);
    // The CRM's zone is used, with a VTIMEZONE for it.
    assert!(out.contains("DTSTART;TZID=Europe/Berlin:20261201T100000\r\n"), "{out}");
    assert!(out.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"));
    assert!(!out.contains("SEQUENCE"), "a new item starts at the default sequence");
    assert_eq!(parse_ical(&out).unwrap().fields, fields);
}

fn participant(id: &str, role: crmsync_model::ParticipantRole) -> crmsync_model::Participant {
    crmsync_model::Participant {
        party: crmsync_model::Party {
            kind: crmsync_model::PartyKind::User,
            id: Some(id.into()),
            email: None,
            name: None,
        },
        role,
        invite: true,
        response: Default::default(),
        sync_status: Default::default(),
    }
}

#[test]
fn r_cal_5_a_zone_the_crm_lacks_is_no_reason_to_rewrite() {
    // The CRM has the series without a time zone; the item names Berlin
    // (as a Windows zone). The times are the same instants: no rewrite.
    let text = outlook();
    let item = parse_ical(&text).unwrap();
    let mut fields = item.fields.clone();
    fields.remove("time_zone");
    let out = render_ical(&fields, &item.uid, Some(&text), &ctx()).unwrap();
    assert_eq!(out, text);
}
