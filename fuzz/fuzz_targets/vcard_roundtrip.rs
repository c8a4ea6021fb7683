//! What we write we must be able to read: a card that parses, rendered back
//! over itself (the update path, R-MAP-6) and afresh (the create path), must
//! parse again with the same UID.
#![no_main]

use crmsync_mapping::{CardVersion, parse_vcard, parse_vcard_bytes, render_vcard};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(card) = parse_vcard_bytes(data) else { return };
    let text = std::str::from_utf8(data).expect("a parsed card is UTF-8");
    for previous in [Some(text), None] {
        for version in [card.version, CardVersion::V3, CardVersion::V4] {
            let Ok(rendered) = render_vcard(&card.fields, &card.uid, version, previous) else { continue };
            let again = parse_vcard(&rendered)
                .unwrap_or_else(|e| panic!("rendered card does not parse: {e}\n{rendered}"));
            assert_eq!(again.uid, card.uid, "UID changed in a round trip");
        }
    }
});
