//! Inputs `cargo fuzz` (fuzz/, issue 6) found, kept as regression tests: what
//! we render we must read back with the same identity (R-FUZZ-1), or a
//! re-rendered item would be taken for another one (a duplicate, R-SAFE-1).

use chrono::{TimeZone, Utc};
use crmsync_mapping::{EmailOnlyDirectory, IcalContext, parse_ical, render_ical};

/// A minimal event whose UID holds a raw `;`, as Exchange writes them
/// (found by the `ical_roundtrip` fuzz target from the Outlook fixture).
const SEMICOLON_UID: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\n\
UID:040000008;00E0:Pipeline review\r\nDTSTAMP:20261020T071500Z\r\nDTSTART:20261118T140000Z\r\n\
DTEND:20261118T150000Z\r\nSUMMARY:Pipeline review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn uid_after_round_trip(previous: Option<&str>) -> (String, String) {
    let item = parse_ical(SEMICOLON_UID).unwrap();
    let ctx = IcalContext {
        now: Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap(),
        time_zone: None,
        directory: &EmailOnlyDirectory,
        keep_schedule: false,
    };
    let rendered = render_ical(&item.fields, &item.uid, previous, &ctx).unwrap();
    (item.uid, parse_ical(&rendered).unwrap().uid)
}

// R-MAP-6 path: rendering over the stored item keeps its UID line byte for byte.
#[test]
fn r_safe_1_uid_with_semicolon_survives_render_over_previous() {
    let (before, after) = uid_after_round_trip(Some(SEMICOLON_UID));
    assert_eq!(before, after);
}

// Create path: a fresh render escapes `;` as TEXT requires (RFC 5545 3.3.11),
// and the reader undoes TEXT escapes in the UID, so it reads back the same.
#[test]
fn r_safe_1_uid_with_semicolon_survives_fresh_render() {
    let (before, after) = uid_after_round_trip(None);
    assert_eq!(before, after);
}
