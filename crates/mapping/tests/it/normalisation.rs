//! Server churn never looks like an edit: DTSTAMP, LAST-MODIFIED, PRODID,
//! REV, property order, folding, parameter case, escaping and line ends all
//! reduce to the same FieldMap and fingerprint.

use crate::common;
use common::fixture;
use crmsync_mapping::{fingerprint, parse_ical, parse_vcard};

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//A//EN\r\nBEGIN:VEVENT\r\nUID:churn-1\r\n\
DTSTAMP:20261101T000000Z\r\nLAST-MODIFIED:20261101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261121T100000\r\n\
DTEND;TZID=Europe/Berlin:20261121T110000\r\nSUMMARY:Budget\\, Q4\r\nDESCRIPTION:Line one\\nLine two\r\n\
ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:ann@example.org\r\nORGANIZER:mailto:bob@example.org\r\n\
CATEGORIES:Work,Budget\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// The same event as another server would store it.
const EVENT_CHURNED: &str = "BEGIN:VCALENDAR\nPRODID:-//B//Server 2.0//EN\nVERSION:2.0\nBEGIN:VEVENT\n\
dtstamp:20261115T093000Z\nLAST-MODIFIED:20261115T093000Z\nsummary:Budget\\, Q4\nUID:churn-1\n\
ORGANIZER;CN=Bob:MAILTO:Bob@Example.org\nattendee;partstat=accepted;role=req-participant;cn=Ann:mailto:ANN@example.org\n\
DESCRIPTION:Line one\\NLine tw\n o\nDTSTART:20261121T090000Z\nDTEND:20261121T100000Z\nCATEGORIES:Budget\n\
CATEGORIES:Work\nEND:VEVENT\nEND:VCALENDAR\n";

#[test]
fn r_edit_2_ical_server_churn_is_no_change() {
    let a = parse_ical(EVENT).unwrap();
    let b = parse_ical(EVENT_CHURNED).unwrap();
    // The zone the event was planned in is kept (R-MAP-19); the instants
    // and everything else are the same.
    assert_eq!(a.fields.get("time_zone"), Some("Europe/Berlin"));
    let mut a_fields = a.fields.clone();
    a_fields.remove("time_zone");
    assert_eq!(a_fields, b.fields);
    assert_eq!(fingerprint(&a_fields), fingerprint(&b.fields));
    assert_ne!(
        a.last_modified, b.last_modified,
        "last-modified is reported, not compared"
    );
}

#[test]
fn r_edit_2_vcard_server_churn_is_no_change() {
    let original = fixture("vcard/outlook_v3.vcf");
    let churned = "BEGIN:VCARD\nversion:3.0\nPRODID:-//Other Server//EN\nREV:20261231T235959Z\n\
UID:{A81BC81B-DEAD-4E5D-ABFF-90865D1E13B1}\nemail;type=internet;type=pref:k.meyer@meyer-soehne.example\n\
n:Meyer;Klaus;;Herr;\nFN:Klaus Meyer\nORG:Meyer & Söhne KG;Vertrieb\nTITLE:Vertriebs\n leiter\n\
tel;type=work;type=voice:+49 89 123456-0\nTEL;TYPE=WORK,VOICE:+49 89 123456-12\nTEL;TYPE=HOME:+49 89 765432\n\
TEL;TYPE=CELL:+49 171 2345678\nTEL;TYPE=FAX,WORK:+49 89 123456-99\n\
ADR;TYPE=work:;;Leopoldstraße 5;München;Bayern;80802;Deutschland\n\
ADR;TYPE=home:;;Am Anger 3;Freising;Bayern;85354;Deutschland\nURL:https://meyer-soehne.example\n\
NOTE:Rückruf erbeten\\; bitte vormittags.\\n\nEND:VCARD\n";
    let a = parse_vcard(&original).unwrap();
    let b = parse_vcard(churned).unwrap();
    assert_eq!(a.fields, b.fields);
    assert_eq!(fingerprint(&a.fields), fingerprint(&b.fields));
}

#[test]
fn fingerprint_is_stable_and_sensitive() {
    let a = parse_ical(EVENT).unwrap().fields;
    // A fixed value: the status store compares fingerprints across versions.
    assert_eq!(fingerprint(&a).len(), 64);
    assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
    let mut b = a.clone();
    b.set("subject", "Budget, Q1");
    assert_ne!(fingerprint(&a), fingerprint(&b));
    // Key/value boundaries matter: ("ab","c") is not ("a","bc").
    let x: crmsync_mapping::FieldMap = [("ab", "c")].into_iter().collect();
    let y: crmsync_mapping::FieldMap = [("a", "bc")].into_iter().collect();
    assert_ne!(fingerprint(&x), fingerprint(&y));
}
