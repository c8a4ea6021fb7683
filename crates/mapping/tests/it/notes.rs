//! R-FIELD-5: description, fixed separator, journal newest first; only the
//! part above the separator flows back.

use crate::common;
use chrono::{TimeZone, Utc};
use common::{TestDirectory, ctx};
use crmsync_mapping::{
    CardVersion, NOTES_SEPARATOR, activity_to_fields, compose_notes, contact_to_fields, journal_text, parse_ical,
    parse_vcard, render_ical, render_vcard, split_notes,
};
use crmsync_model::{ActivityFields, ActivityKind, ContactFields, EntityKind, JournalEntry, RecordRef};

fn entry(id: &str, day: u32, text: &str, system: bool) -> JournalEntry {
    JournalEntry {
        id: id.into(),
        record: RecordRef {
            entity: EntityKind::Contact,
            id: "c-1".into(),
        },
        text: text.into(),
        system,
        author_id: None,
        created_at: Utc.with_ymd_and_hms(2026, 11, day, 9, 30, 0).unwrap(),
    }
}

fn journal() -> Vec<JournalEntry> {
    vec![
        entry("j1", 1, "Called, no answer.", false),
        entry("j2", 3, "Sent the offer.", false),
        entry("j3", 2, "crmsync: synced to groupware", true),
    ]
}

#[test]
fn r_field_5_description_then_separator_then_newest_first_without_system_entries() {
    let text = compose_notes("Key account.", &journal());
    assert_eq!(
        text,
        format!(
            "Key account.\n\n{NOTES_SEPARATOR}\n[2026-11-03 09:30 UTC] Sent the offer.\n\n[2026-11-01 09:30 UTC] Called, no answer."
        )
    );
    assert!(!text.contains("crmsync: synced"));
}

#[test]
fn r_field_5_no_journal_no_separator() {
    assert_eq!(
        compose_notes("Only this.", &[entry("s", 1, "system", true)]),
        "Only this."
    );
    assert_eq!(split_notes("Only this.\n"), ("Only this.".to_string(), String::new()));
}

#[test]
fn r_field_5_split_returns_description_and_journal() {
    let (description, rest) = split_notes(&compose_notes("Key account.\nSecond line.", &journal()));
    assert_eq!(description, "Key account.\nSecond line.");
    assert_eq!(rest, journal_text(&journal()));
}

#[test]
fn r_field_5_journal_edits_in_groupware_never_reach_the_description() {
    let mut c = ContactFields {
        first_name: Some("Ann".into()),
        notes: Some("Key account.".into()),
        ..Default::default()
    };
    c.email1 = Some("ann@example.org".into());
    let mut fields = contact_to_fields(&c);
    fields.set("journal", journal_text(&journal()));
    let card = render_vcard(&fields, "n-1", CardVersion::V3, None).unwrap();
    // The user edits both parts in the client (and the client re-wraps with CRLF).
    let edited = card
        .replace("Key account.", "Key account. VIP!")
        .replace("Sent the offer.", "Sent the offer (EDITED).");
    let back = parse_vcard(&edited).unwrap();
    assert_eq!(back.fields.get("notes"), Some("Key account. VIP!"));
    // The journal part is reported separately; the engine treats it as outbound only.
    assert!(back.fields.get("journal").unwrap().contains("(EDITED)"));
    assert!(!back.fields.get("notes").unwrap().contains(NOTES_SEPARATOR));
}

#[test]
fn r_field_5_event_description_carries_the_journal_too() {
    let mut a = ActivityFields::new(ActivityKind::Appointment, "Review");
    a.start = Some("2026-11-20T10:00:00Z".parse().unwrap());
    a.end = Some("2026-11-20T11:00:00Z".parse().unwrap());
    a.description = Some("Agenda: numbers.".into());
    let mut fields = activity_to_fields(&a, &TestDirectory);
    fields.set("journal", journal_text(&journal()));
    let out = render_ical(&fields, "r-1", None, &ctx()).unwrap();
    let item = parse_ical(&out).unwrap();
    assert_eq!(item.fields.get("description"), Some("Agenda: numbers."));
    assert_eq!(item.fields.get("journal"), fields.get("journal"));
}

#[test]
fn r_field_5_separator_with_surrounding_blanks_still_splits() {
    let text = format!("Desc\r\n\r\n   {NOTES_SEPARATOR}  \r\n[x] note\r\n");
    assert_eq!(split_notes(&text), ("Desc".to_string(), "[x] note".to_string()));
}
