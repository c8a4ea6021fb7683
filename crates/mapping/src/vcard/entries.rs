//! calcard's reading of each property line of a card, one entry per line, so
//! that raw line, parsed entry and slot correspond one to one (R-MAP-6).
//!
//! The whole card is parsed once (R-PERF-5): reading every line in a card of
//! its own parsed a BEGIN, a VERSION and an END per property, most of the cost
//! of reading a card. The one parse is used only when its entries answer the
//! lines one to one, each with the line's name and group; otherwise (a line
//! calcard skips, splits or runs into the next) every line is read alone, as
//! before.

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};

use super::CardVersion;
use super::slots;
use crate::content_line::RawLine;

/// One entry per line: `None` where calcard cannot read the line.
pub(crate) fn read_entries(lines: &[RawLine], version: CardVersion) -> Vec<Option<VCardEntry>> {
    whole_card_entries(lines, version).unwrap_or_else(|| lines.iter().map(|l| parse_entry(l, version)).collect())
}

/// The lines read as one card, in the same setting each line alone is read
/// in (the card's version first): `None` unless the entries answer the lines
/// one to one.
fn whole_card_entries(lines: &[RawLine], version: CardVersion) -> Option<Vec<Option<VCardEntry>>> {
    let properties = || lines.iter().filter(|l| !l.is("VERSION"));
    let mut card = String::with_capacity(lines.iter().map(|l| l.text.len() + 2).sum::<usize>() + 40);
    for part in ["BEGIN:VCARD\r\nVERSION:", version.as_str(), "\r\n"] {
        card.push_str(part);
    }
    for line in properties() {
        card.push_str(&line.text);
        card.push_str("\r\n");
    }
    card.push_str("END:VCARD\r\n");
    let parsed = VCard::parse(&card).ok()?;
    let mut entries = parsed
        .entries
        .into_iter()
        .filter(|e| !matches!(e.name, VCardProperty::Version));
    let mut read = Vec::with_capacity(lines.len());
    for line in lines {
        if line.is("VERSION") {
            read.push(Some(version_entry(line)));
            continue;
        }
        let mut entry = entries.next()?;
        if !answers(&entry, line) {
            return None;
        }
        restore_inline_binary(line, &mut entry);
        read.push(Some(entry));
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
    use crate::content_line::{Node, parse_tree, split_lines};
    use crate::error::Format;
    use crate::vcard::render_vcard;

    fn lines_of(text: &str) -> Vec<RawLine> {
        let root = parse_tree(Format::VCard, split_lines(Format::VCard, text).unwrap()).unwrap();
        root.children
            .into_iter()
            .filter_map(|n| match n {
                Node::Prop(l) => Some(l),
                Node::Comp(_) => None,
            })
            .collect()
    }

    fn one_by_one(lines: &[RawLine], version: CardVersion) -> Vec<Option<VCardEntry>> {
        lines.iter().map(|l| parse_entry(l, version)).collect()
    }

    /// R-PERF-5: every card of the corpus reads as it did line by line, and
    /// the one parse is used for the cards crmsync writes itself.
    #[test]
    fn r_perf_5_whole_card_read_is_the_line_by_line_read_on_the_corpus() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let (mut cards, mut in_one_parse) = (0, 0);
        let files = ["vcard", "malformed"]
            .into_iter()
            .flat_map(|d| std::fs::read_dir(fixtures.join(d)).unwrap());
        for file in files {
            let path = file.unwrap().path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(lines) = split_lines(Format::VCard, &text).and_then(|l| parse_tree(Format::VCard, l)) else {
                continue;
            };
            let lines: Vec<RawLine> = lines.props().cloned().collect();
            for version in [CardVersion::V3, CardVersion::V4] {
                in_one_parse += usize::from(whole_card_entries(&lines, version).is_some());
                assert_eq!(
                    read_entries(&lines, version),
                    one_by_one(&lines, version),
                    "{}",
                    path.display()
                );
            }
            cards += 1;
        }
        assert!(cards >= 7, "the corpus was read: {cards} cards");
        assert!(in_one_parse > 0, "no card of the corpus was read in one parse");
    }

    fn part() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[ a-zA-Zé,;:\\\\.@-]{0,12}")
    }

    proptest! {
        /// R-PERF-5: a card crmsync renders, with values full of characters
        /// vCard escapes, is read in one parse, entry for entry as line by line.
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
            let whole = whole_card_entries(&lines, version);
            prop_assert!(whole.is_some(), "one parse refused:\n{}", card);
            prop_assert_eq!(whole.unwrap(), one_by_one(&lines, version), "{}", card);
        }
    }
}
