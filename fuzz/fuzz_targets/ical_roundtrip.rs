//! What we write we must be able to read: a calendar item that parses,
//! rendered back over itself (the update path, R-MAP-6) and afresh, must
//! parse again with the same UID and kind.
#![no_main]

use chrono::{TimeZone, Utc};
use crmsync_mapping::{EmailOnlyDirectory, IcalContext, parse_ical, parse_ical_bytes, render_ical};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(item) = parse_ical_bytes(data) else { return };
    let text = std::str::from_utf8(data).expect("a parsed item is UTF-8");
    let ctx = IcalContext {
        now: Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap(),
        time_zone: item.time_zone.as_deref(),
        directory: &EmailOnlyDirectory,
        keep_schedule: false,
    };
    for previous in [Some(text), None] {
        let Ok(rendered) = render_ical(&item.fields, &item.uid, previous, &ctx) else { continue };
        let again = parse_ical(&rendered).unwrap_or_else(|e| panic!("rendered item does not parse: {e}\n{rendered}"));
        assert_eq!(again.uid, item.uid, "UID changed in a round trip");
        assert_eq!(again.kind, item.kind, "kind changed in a round trip");
    }
});
