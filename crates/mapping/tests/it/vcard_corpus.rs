//! vCards in the dialects of real clients (fixtures/vcard): what they map
//! to (R-MAP-4, R-FIELD-1), and that rendering never loses what crmsync
//! does not map (R-MAP-6).

use crate::common;
use common::{fixture, fixtures};
use crmsync_mapping::{CardVersion, parse_vcard, render_vcard};

fn field(file: &str, key: &str) -> Option<String> {
    let card = parse_vcard(&fixture(&format!("vcard/{file}"))).unwrap();
    card.fields.get(key).map(str::to_string)
}

/// Logical lines (a property with its folded continuations) as raw text.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for physical in text.split_inclusive('\n') {
        if physical.starts_with([' ', '\t']) {
            out.last_mut().unwrap().push_str(physical);
        } else {
            out.push(physical.to_string());
        }
    }
    out
}

#[test]
fn r_map_4_client_dialects_map_to_expected_fields() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        // Apple: N parts, item groups, pref types, escaped text.
        ("apple_contacts_v3.vcf", "prefix", Some("Dr.")),
        ("apple_contacts_v3.vcf", "middle_name", Some("Maria")),
        ("apple_contacts_v3.vcf", "suffix", Some("PhD")),
        (
            "apple_contacts_v3.vcf",
            "email1",
            Some("anna.lindqvist@nordlicht.example"),
        ),
        ("apple_contacts_v3.vcf", "phone_mobile", Some("+46 70 123 45 67")),
        ("apple_contacts_v3.vcf", "phone_business", Some("+46 8 555 01 00")),
        ("apple_contacts_v3.vcf", "phone_business2", Some("+46 8 555 01 01")),
        ("apple_contacts_v3.vcf", "phone_other", Some("+46 8 555 09 99")),
        ("apple_contacts_v3.vcf", "business_address.street", Some("Sveavägen 12")),
        (
            "apple_contacts_v3.vcf",
            "notes",
            Some("Met at the Gothenburg fair.\nPrefers e-mail, not calls."),
        ),
        // Google: escaped colon in URL, a fourth e-mail that has no slot.
        ("google_v3.vcf", "website", Some("http://okafor-logistics.example")),
        ("google_v3.vcf", "email3", Some("okafor@old.example")),
        ("google_v3.vcf", "phone_other", Some("+234 1 290 0000")),
        ("google_v3.vcf", "home_address.region", Some("Lagos State")),
        // Outlook: bare 2.1-style types; the pager has no slot.
        ("outlook_v3.vcf", "phone_business2", Some("+49 89 123456-12")),
        ("outlook_v3.vcf", "phone_fax", Some("+49 89 123456-99")),
        ("outlook_v3.vcf", "phone_home", Some("+49 89 765432")),
        ("outlook_v3.vcf", "phone_other", None),
        ("outlook_v3.vcf", "notes", Some("Rückruf erbeten; bitte vormittags.")),
        ("outlook_v3.vcf", "company", Some("Meyer & Söhne KG")),
        // Nextcloud: quoted TYPE lists, TYPE=OTHER address.
        ("nextcloud_v3.vcf", "phone_business", Some("+33 4 72 00 00 00")),
        ("nextcloud_v3.vcf", "phone_home", Some("+33 4 78 00 00 00")),
        ("nextcloud_v3.vcf", "other_address.city", Some("Lyon")),
        // Thunderbird 4.0: VALUE=TEXT phones, data: URI photo, LF line ends.
        ("thunderbird_v4.vcf", "phone_fax", Some("+44 20 7946 0999")),
        ("thunderbird_v4.vcf", "department", Some("Engineering")),
        // Evolution: X-EVOLUTION-UI-SLOT parameters, empty NOTE.
        ("evolution_v3.vcf", "phone_business", Some("+420 2 2222 1111")),
        ("evolution_v3.vcf", "notes", None),
    ];
    for (file, key, want) in cases {
        assert_eq!(field(file, key).as_deref(), *want, "{file} {key}");
    }
}

#[test]
fn r_map_4_photos_become_the_same_data_uri_from_3_0_and_4_0() {
    let apple = field("apple_contacts_v3.vcf", "photo").unwrap();
    let thunderbird = field("thunderbird_v4.vcf", "photo").unwrap();
    assert!(apple.starts_with("data:image/jpeg;base64,/9j/"), "{apple}");
    // Same picture, written as ENCODING=b in 3.0 and as a data: URI in 4.0.
    assert_eq!(apple, thunderbird);
}

#[test]
fn r_map_4_uid_version_and_rev_are_reported() {
    let apple = parse_vcard(&fixture("vcard/apple_contacts_v3.vcf")).unwrap();
    assert_eq!(apple.uid, "5C7E0E1A-77C5-4C64-8E35-1B8B2B6B6A01");
    assert_eq!(apple.version, CardVersion::V3);
    assert_eq!(apple.last_modified.unwrap().to_rfc3339(), "2024-03-01T10:15:30+00:00");
    let outlook = parse_vcard(&fixture("vcard/outlook_v3.vcf")).unwrap();
    assert_eq!(outlook.last_modified.unwrap().to_rfc3339(), "2024-01-15T08:30:00+00:00");
    let tb = parse_vcard(&fixture("vcard/thunderbird_v4.vcf")).unwrap();
    assert_eq!(tb.version, CardVersion::V4);
    assert_eq!(tb.last_modified, None);
}

#[test]
fn r_map_6_unchanged_fields_render_byte_identical() {
    for (name, text) in fixtures("vcard") {
        let card = parse_vcard(&text).unwrap();
        let out = render_vcard(&card.fields, &card.uid, card.version, Some(&text)).unwrap();
        assert_eq!(out, text, "{name}: rendering the same fields must not change a byte");
    }
}

#[test]
fn r_map_4_fresh_render_round_trips_in_both_versions() {
    for (name, text) in fixtures("vcard") {
        let card = parse_vcard(&text).unwrap();
        for version in [CardVersion::V3, CardVersion::V4] {
            let out = render_vcard(&card.fields, &card.uid, version, None).unwrap();
            let back = parse_vcard(&out).unwrap();
            assert_eq!(back.fields, card.fields, "{name} as {version:?}:\n{out}");
            assert_eq!(back.uid, card.uid);
            assert_eq!(back.version, version);
        }
    }
}

#[test]
fn r_map_6_a_changed_field_rewrites_only_its_line() {
    for (name, text) in fixtures("vcard") {
        let card = parse_vcard(&text).unwrap();
        let mut fields = card.fields.clone();
        fields.set("job_title", "Chief Synchronisation Officer");
        let out = render_vcard(&fields, &card.uid, card.version, Some(&text)).unwrap();
        let out_lines = logical_lines(&out);
        for line in logical_lines(&text) {
            if line.starts_with("TITLE") {
                assert!(!out_lines.contains(&line), "{name}: old TITLE kept");
            } else {
                // Extra phones, X- properties, groups, unknown params and the
                // photo: all byte for byte.
                assert!(out_lines.contains(&line), "{name}: lost {line:?}\n{out}");
            }
        }
        let back = parse_vcard(&out).unwrap();
        assert_eq!(back.fields, fields, "{name}");
    }
}

#[test]
fn r_map_6_rewritten_property_keeps_its_group_and_parameters() {
    let text = fixture("vcard/apple_contacts_v3.vcf");
    let card = parse_vcard(&text).unwrap();
    let mut fields = card.fields.clone();
    fields.set("email1", "anna@nordlicht.example");
    let out = render_vcard(&fields, &card.uid, card.version, Some(&text)).unwrap();
    let line = out.lines().find(|l| l.contains("anna@nordlicht.example")).unwrap();
    assert!(line.starts_with("item1.EMAIL;"), "{line}");
    let upper = line.to_ascii_uppercase();
    assert!(
        upper.contains("INTERNET") && upper.contains("WORK") && upper.contains("PREF"),
        "{line}"
    );
    assert!(out.contains("item2.X-ABLabel:_$!<Assistant>!$_\r\n"));
    assert_eq!(parse_vcard(&out).unwrap().fields, fields);
}

#[test]
fn r_map_6_extra_phones_beyond_the_six_survive_a_phone_edit() {
    let text = fixture("vcard/apple_contacts_v3.vcf");
    let card = parse_vcard(&text).unwrap();
    let mut fields = card.fields.clone();
    fields.set("phone_mobile", "+46 70 000 00 00");
    fields.remove("phone_business2");
    let out = render_vcard(&fields, &card.uid, card.version, Some(&text)).unwrap();
    // The third work number and the second (iPhone) mobile have no slot.
    assert!(out.contains("TEL;type=WORK;type=VOICE:+46 8 555 01 02\r\n"));
    assert!(out.contains("TEL;type=IPHONE;type=CELL;type=VOICE:+46 70 999 88 77\r\n"));
    assert!(!out.contains("+46 8 555 01 01"), "removed business 2 must be gone");
    assert!(out.contains("+46 70 000 00 00"));
    let back = parse_vcard(&out).unwrap();
    assert_eq!(back.fields.get("phone_mobile"), Some("+46 70 000 00 00"));
    // The unmapped third work number now moves up into the free slot: it is
    // data the user has, not something crmsync invents.
    assert_eq!(back.fields.get("phone_business2"), Some("+46 8 555 01 02"));
}

#[test]
fn r_map_6_photo_line_is_kept_when_the_photo_did_not_change() {
    let text = fixture("vcard/apple_contacts_v3.vcf");
    let card = parse_vcard(&text).unwrap();
    let mut fields = card.fields.clone();
    fields.set("last_name", "Lindqvist-Berg");
    let out = render_vcard(&fields, &card.uid, card.version, Some(&text)).unwrap();
    let photo = logical_lines(&text)
        .into_iter()
        .find(|l| l.starts_with("PHOTO"))
        .unwrap();
    assert!(out.contains(&photo));
    // The name changed, so the derived FN follows it.
    assert!(out.contains("FN:Dr. Anna Maria Lindqvist-Berg PhD\r\n"), "{out}");
}

#[test]
fn r_map_6_custom_formatted_name_survives_other_edits() {
    let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:fn-1\r\nN:Smith;Robert;;;\r\nFN:Bob the Builder\r\nEND:VCARD\r\n";
    let card = parse_vcard(text).unwrap();
    let mut fields = card.fields.clone();
    fields.set("company", "Smith Ltd");
    let out = render_vcard(&fields, &card.uid, card.version, Some(text)).unwrap();
    assert!(out.contains("FN:Bob the Builder\r\n"), "{out}");
    assert!(out.contains("ORG:Smith Ltd\r\n"), "{out}");
}

#[test]
fn r_map_4_renders_the_version_the_collection_holds() {
    let text = fixture("vcard/outlook_v3.vcf");
    let card = parse_vcard(&text).unwrap();
    let out = render_vcard(&card.fields, &card.uid, CardVersion::V4, Some(&text)).unwrap();
    assert!(out.contains("VERSION:4.0\r\n") && !out.contains("VERSION:3.0"));
    // Everything else is untouched.
    assert_eq!(out.replace("VERSION:4.0", "VERSION:3.0"), text);
}

#[test]
fn r_map_4_removed_field_drops_its_line_only() {
    let text = fixture("vcard/outlook_v3.vcf");
    let card = parse_vcard(&text).unwrap();
    let mut fields = card.fields.clone();
    fields.remove("phone_home");
    let out = render_vcard(&fields, &card.uid, card.version, Some(&text)).unwrap();
    assert!(!out.contains("TEL;HOME;VOICE"));
    assert_eq!(out, text.replace("TEL;HOME;VOICE:+49 89 765432\r\n", ""));
}

#[test]
fn r_map_4_inline_photo_that_is_valid_utf8_stays_a_picture() {
    // An SVG is text; vCard 3.0 still carries it base64-encoded (found by proptest).
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(svg);
    let text = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:svg-1\r\nFN:Svg\r\nPHOTO;ENCODING=b;TYPE=image/svg+xml:{b64}\r\nEND:VCARD\r\n"
    );
    let card = parse_vcard(&text).unwrap();
    assert_eq!(
        card.fields.get("photo"),
        Some(format!("data:image/svg+xml;base64,{b64}").as_str())
    );
}

#[test]
fn r_map_4_outlook_2_1_quoted_printable_note() {
    let text = fixture("vcard/outlook_export_v21.vcf");
    let card = parse_vcard(&text).unwrap();
    assert_eq!(card.fields.get("notes"), Some("Rückruf erbeten.\nBitte vormittags."));
    assert_eq!(card.fields.get("phone_business"), Some("+49 89 123456-0"));
    // vCard 2.1 is read like 3.0; crmsync writes 3.0 or 4.0.
    assert_eq!(card.version, CardVersion::V3);
}
