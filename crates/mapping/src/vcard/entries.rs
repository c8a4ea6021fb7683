//! calcard's reading of each property line of a card, one entry per line, so
//! that raw line, parsed entry and slot correspond one to one (R-MAP-6).
//!
//! The whole card is parsed once (R-PERF-5): reading every line in a card of
//! its own parsed a BEGIN, a VERSION and an END per property, most of the cost
//! of reading a card. A line whose reading may run over into its neighbour is
//! still read alone: one holding a line break (the splitter joins a
//! quoted-printable soft break into one line, which calcard may read as two
//! entries) or naming an encoding (calcard continues a quoted-printable value
//! ending in `=` on the next line, and a base64 value on following lines of
//! base64 characters, for `ENCODING=Q`/`B`/`QUOTED-PRINTABLE`/`BASE64` and a
//! bare `QUOTED-PRINTABLE` or `BASE64` parameter, which the splitter does not
//! all know). The other lines are read in one parse, used only when its
//! entries answer them one to one, each with the line's name and group;
//! otherwise (a line calcard skips or splits) every line is read alone, as
//! before.

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};

use super::CardVersion;
use super::slots;
use crate::content_line::RawLine;

/// calcard's reading of a card's lines, one entry per line (`None` where
/// calcard cannot read the line).
#[derive(Debug)]
pub(crate) struct CardEntries {
    pub entries: Vec<Option<VCardEntry>>,
    /// How many lines were read in a card of their own, not in the one parse
    /// (R-PERF-5): what the tests count to see which path a card took.
    pub read_alone: usize,
}

pub(crate) fn read_entries(lines: &[RawLine], version: CardVersion) -> CardEntries {
    whole_card_entries(lines, version).unwrap_or_else(|| CardEntries {
        entries: lines.iter().map(|l| parse_entry(l, version)).collect(),
        read_alone: lines.iter().filter(|l| !l.is("VERSION")).count(),
    })
}

/// Must `line` be read alone: may calcard read it as more than one entry or
/// run it into the next line? See the module doc.
fn reads_alone(line: &RawLine) -> bool {
    if line.text.contains(['\n', '\r']) {
        return true;
    }
    // Searched in place: an upper-cased copy of every line's head cost a
    // sixth of reading a card (R-PERF-6).
    let head = &line.text.as_bytes()[..line.text.len() - line.value_text().len()];
    // A head without parameters names no encoding.
    head.contains(&b';')
        && [&b"ENCODING"[..], b"QUOTED-PRINTABLE", b"BASE64"].iter().any(|marker| {
            head.windows(marker.len())
                .any(|w| w[0].eq_ignore_ascii_case(&marker[0]) && w.eq_ignore_ascii_case(marker))
        })
}

/// The lines read as one card, in the same setting each line alone is read
/// in (the card's version first), except those that must be read alone:
/// `None` unless the one parse's entries answer its lines one to one.
fn whole_card_entries(lines: &[RawLine], version: CardVersion) -> Option<CardEntries> {
    let in_one_parse = |l: &&RawLine| !l.is("VERSION") && !reads_alone(l);
    let mut card = String::with_capacity(lines.iter().map(|l| l.text.len() + 2).sum::<usize>() + 40);
    for part in ["BEGIN:VCARD\r\nVERSION:", version.as_str(), "\r\n"] {
        card.push_str(part);
    }
    for line in lines.iter().filter(in_one_parse) {
        card.push_str(&line.text);
        card.push_str("\r\n");
    }
    card.push_str("END:VCARD\r\n");
    let parsed = VCard::parse(&card).ok()?;
    let mut entries = parsed
        .entries
        .into_iter()
        .filter(|e| !matches!(e.name, VCardProperty::Version));
    let mut read = CardEntries {
        entries: Vec::with_capacity(lines.len()),
        read_alone: 0,
    };
    for line in lines {
        if line.is("VERSION") {
            read.entries.push(Some(version_entry(line)));
            continue;
        }
        if !in_one_parse(&line) {
            read.entries.push(parse_entry(line, version));
            read.read_alone += 1;
            continue;
        }
        let mut entry = entries.next()?;
        if !answers(&entry, line) {
            return None;
        }
        restore_inline_binary(line, &mut entry);
        read.entries.push(Some(entry));
    }
    entries.next().is_none().then_some(read)
}

/// Is `entry` calcard's reading of `line`: the same property name and group?
fn answers(entry: &VCardEntry, line: &RawLine) -> bool {
    entry.name.as_str().eq_ignore_ascii_case(&line.name)
        && match (&entry.group, &line.group) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        }
}

/// VERSION is read from the raw line: calcard's reading of it carries no
/// more, and a 2.1 card is read as 3.0 anyway.
fn version_entry(line: &RawLine) -> VCardEntry {
    VCardEntry {
        group: None,
        name: VCardProperty::Version,
        params: vec![],
        values: vec![VCardValue::Text(line.value_text().trim().to_string())],
    }
}

/// calcard's reading of one property alone: the line is wrapped in a card of
/// its own.
fn parse_entry(line: &RawLine, version: CardVersion) -> Option<VCardEntry> {
    if line.is("VERSION") {
        return Some(version_entry(line));
    }
    // Joined, not formatted: formatting cost a sixth of reading a card
    // (R-PERF-5).
    let wrapped = [
        "BEGIN:VCARD\r\nVERSION:",
        version.as_str(),
        "\r\n",
        line.text.as_str(),
        "\r\nEND:VCARD\r\n",
    ]
    .concat();
    let card = VCard::parse(&wrapped).ok()?;
    let mut entry = card
        .entries
        .into_iter()
        .find(|e| !matches!(e.name, VCardProperty::Version))?;
    restore_inline_binary(line, &mut entry);
    Some(entry)
}

/// calcard returns `ENCODING=b` data that happens to be valid UTF-8 (an SVG,
/// a tiny picture) as decoded text; a photo is bytes either way.
fn restore_inline_binary(line: &RawLine, entry: &mut VCardEntry) {
    if entry.name != VCardProperty::Photo {
        return;
    }
    let head = line.text[..line.text.len() - line.value_text().len()].to_ascii_uppercase();
    if !(head.contains("ENCODING=B") || head.contains("ENCODING=BASE64")) {
        return;
    }
    if let Some(VCardValue::Text(decoded)) = entry.values.first() {
        let media_type = slots::types(entry).first().map(|t| {
            if t.contains('/') {
                t.clone()
            } else {
                format!("image/{t}")
            }
        });
        let data = decoded.clone().into_bytes();
        entry.values = vec![VCardValue::Binary(calcard::common::Data {
            content_type: media_type,
            data,
        })];
    }
}

#[cfg(test)]
mod tests {
    use crmsync_model::{Address, ContactFields};
    use proptest::prelude::*;

    use super::*;
    use crate::contact_fields::contact_to_fields;
    use crate::content_line::{parse_tree, split_lines};
    use crate::error::Format;
    use crate::vcard::render_vcard;

    fn lines_of(text: &str) -> Vec<RawLine> {
        parse_tree(Format::VCard, split_lines(Format::VCard, text).unwrap())
            .unwrap()
            .take_props()
    }

    fn one_by_one(lines: &[RawLine], version: CardVersion) -> Vec<Option<VCardEntry>> {
        lines.iter().map(|l| parse_entry(l, version)).collect()
    }

    /// R-PERF-5: every card of the corpus reads as it did line by line, and
    /// through the one parse: only the lines that must be read alone are.
    #[test]
    fn r_perf_5_whole_card_read_is_the_line_by_line_read_on_the_corpus() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut cards = 0;
        let files = ["vcard", "malformed"]
            .into_iter()
            .flat_map(|d| std::fs::read_dir(fixtures.join(d)).unwrap());
        for file in files {
            let path = file.unwrap().path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(mut root) = split_lines(Format::VCard, &text).and_then(|l| parse_tree(Format::VCard, l)) else {
                continue;
            };
            let lines = root.take_props();
            let must_read_alone = lines.iter().filter(|l| reads_alone(l)).count();
            for version in [CardVersion::V3, CardVersion::V4] {
                let read = read_entries(&lines, version);
                assert_eq!(read.entries, one_by_one(&lines, version), "{}", path.display());
                assert_eq!(
                    read.read_alone,
                    must_read_alone,
                    "one parse refused: {}",
                    path.display()
                );
            }
            cards += 1;
        }
        assert!(cards >= 7, "the corpus was read: {cards} cards");
    }

    /// R-PERF-5: lines calcard would run into each other in one parse (a
    /// quoted-printable soft break the splitter joined into one line, an
    /// `ENCODING=Q` value ending in `=`, a base64 value) are read alone, each
    /// line keeping its own entry.
    #[test]
    fn r_perf_5_lines_an_encoding_could_run_together_are_read_alone() {
        // (card, lines read alone)
        let cards = [
            (
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nNOTE;ENCODING=Q:abc=\r\nNOTE:x\r\n\
                 NOTE;X-P=QUOTED-PRINTABLE:v=\r\nNOTE:y\r\nEND:VCARD\r\n",
                2,
            ),
            (
                "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:u\r\nNOTE;QUOTED-PRINTABLE:a=\r\nb\r\nTEL:1\r\nEND:VCARD\r\n",
                1,
            ),
            (
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nNOTE;ENCODING=B:QUJD\r\nNOTE:x\r\nEND:VCARD\r\n",
                1,
            ),
            (
                "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:u\r\nNOTE;BASE64:QUJD\r\nNOTE:x\r\nEND:VCARD\r\n",
                1,
            ),
        ];
        for (card, alone) in cards {
            let lines = lines_of(card);
            let read = read_entries(&lines, CardVersion::V3);
            assert_eq!(read.entries, one_by_one(&lines, CardVersion::V3), "{card}");
            assert_eq!(read.read_alone, alone, "{card}");
        }
    }

    fn part() -> impl Strategy<Value = Option<String>> {
        // Long enough to fold (over 75 octets), non-ASCII included.
        proptest::option::of("[ a-zA-Zé€,;:\\\\.@-]{0,100}")
    }

    proptest! {
        /// R-PERF-5: a card crmsync renders, with values full of characters
        /// vCard escapes and long enough to fold, is read in one parse, entry
        /// for entry as line by line.
        #[test]
        fn r_perf_5_a_rendered_card_is_read_in_one_parse_as_line_by_line(
            first in part(), last in part(), company in part(), title in part(), email in part(),
            phone in part(), street in part(), city in part(), notes in part(), v4 in any::<bool>(),
        ) {
            let contact = ContactFields {
                first_name: first, last_name: last, company, job_title: title, email1: email,
                phone_mobile: phone, notes,
                home_address: Address { street, city, ..Address::default() },
                ..ContactFields::default()
            };
            let version = if v4 { CardVersion::V4 } else { CardVersion::V3 };
            let card = render_vcard(&contact_to_fields(&contact), "uid-1", version, None).unwrap();
            let lines = lines_of(&card);
            let read = read_entries(&lines, version);
            prop_assert_eq!(read.read_alone, 0, "one parse refused:\n{}", card);
            prop_assert_eq!(read.entries, one_by_one(&lines, version), "{}", card);
        }
    }
}
