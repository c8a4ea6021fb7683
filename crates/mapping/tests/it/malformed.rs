//! R-SAFE-4: malformed items fail with an error that names the line or
//! property and says what to do, so the runner can quarantine them.

use crate::common;
use common::{ctx, fixture, fixture_bytes};
use crmsync_mapping::{
    CardVersion, Format, MAX_ITEM_BYTES, MappingError, parse_ical, parse_ical_bytes, parse_vcard, parse_vcard_bytes,
    render_ical, render_vcard,
};

#[test]
fn r_safe_4_vcard_without_uid() {
    let err = parse_vcard(&fixture("malformed/no_uid.vcf")).unwrap_err();
    assert_eq!(err, MappingError::MissingUid { format: Format::VCard });
    assert!(err.to_string().contains("no UID"));
    assert!(!err.is_transient());
}

#[test]
fn r_safe_4_broken_folding_names_the_line() {
    let err = parse_vcard(&fixture("malformed/broken_folding.vcf")).unwrap_err();
    assert!(matches!(err, MappingError::Malformed { line: 6, .. }), "{err:?}");
    assert!(err.to_string().contains("line 6"), "{err}");
    assert!(err.to_string().contains("folding"), "{err}");
}

#[test]
fn r_safe_4_binary_garbage_is_not_text() {
    let err = parse_vcard_bytes(&fixture_bytes("malformed/garbage.bin")).unwrap_err();
    assert!(matches!(err, MappingError::NotText { offset: 6, .. }), "{err:?}");
    // The same bytes made "valid" UTF-8 still fail: control characters.
    let lossy = String::from_utf8_lossy(&fixture_bytes("malformed/garbage.bin")).to_string();
    let err = parse_ical(&lossy).unwrap_err();
    assert!(matches!(err, MappingError::Malformed { line: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("control character"), "{err}");
}

#[test]
fn r_safe_4_ten_megabyte_note_is_refused() {
    let note = "x".repeat(10 * 1024 * 1024);
    let card = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Big\r\nNOTE:{note}\r\nEND:VCARD\r\n");
    let err = parse_vcard(&card).unwrap_err();
    match err {
        MappingError::TooLarge { size, limit, .. } => {
            assert_eq!(limit, MAX_ITEM_BYTES);
            assert!(size > limit);
        }
        other => panic!("{other:?}"),
    }
    let event =
        format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:big\r\nDESCRIPTION:{note}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    assert!(matches!(
        parse_ical_bytes(event.as_bytes()),
        Err(MappingError::TooLarge { .. })
    ));
}

#[test]
fn r_safe_4_unknown_time_zone_is_refused_not_guessed() {
    let err = parse_ical(&fixture("malformed/unknown_tzid.ics")).unwrap_err();
    match &err {
        MappingError::UnknownTimeZone {
            line, property, tzid, ..
        } => {
            assert_eq!(
                (*line, property.as_str(), tzid.as_str()),
                (7, "DTSTART", "Mars/Olympus_Mons")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.line(), Some(7));
    assert_eq!(err.property(), Some("DTSTART"));
}

#[test]
fn r_safe_4_invalid_date() {
    let err = parse_ical(&fixture("malformed/invalid_date.ics")).unwrap_err();
    assert!(
        matches!(&err, MappingError::InvalidDate { line: 7, property, .. } if property == "DTSTART"),
        "{err:?}"
    );
    assert!(err.to_string().contains("20261341T100000Z"), "{err}");
}

#[test]
fn r_safe_4_event_without_uid() {
    let err = parse_ical(&fixture("malformed/no_uid.ics")).unwrap_err();
    assert_eq!(
        err,
        MappingError::MissingUid {
            format: Format::ICalendar
        }
    );
}

#[test]
fn r_safe_4_wrong_components() {
    let journal = parse_ical(&fixture("malformed/vjournal.ics")).unwrap_err();
    assert!(
        matches!(&journal, MappingError::WrongComponent { found, .. } if found == "VJOURNAL"),
        "{journal:?}"
    );
    let calendar_as_card = parse_vcard(&fixture("malformed/wrong_component.vcf")).unwrap_err();
    assert!(matches!(&calendar_as_card, MappingError::WrongComponent { found, .. } if found == "VCALENDAR"));
    let card_as_event = parse_ical(&fixture("vcard/google_v3.vcf")).unwrap_err();
    assert!(matches!(&card_as_event, MappingError::WrongComponent { found, .. } if found == "VCARD"));
}

#[test]
fn r_safe_4_unclosed_component() {
    let err = parse_ical(&fixture("malformed/unclosed.ics")).unwrap_err();
    assert!(matches!(err, MappingError::Malformed { line: 6, .. }), "{err:?}");
    assert!(err.to_string().contains("END:VCALENDAR closes BEGIN:VEVENT"), "{err}");
}

#[test]
fn r_safe_4_rendering_over_an_unreadable_item_refuses_instead_of_dropping_data() {
    let broken = fixture("malformed/broken_folding.vcf");
    let fields = parse_vcard(&fixture("vcard/google_v3.vcf")).unwrap().fields;
    assert!(render_vcard(&fields, "x1", CardVersion::V3, Some(&broken)).is_err());
    let bad_event = fixture("malformed/unknown_tzid.ics");
    let event = parse_ical(&fixture("ical/google_meeting.ics")).unwrap();
    assert!(render_ical(&event.fields, "tz-1", Some(&bad_event), &ctx()).is_err());
}
