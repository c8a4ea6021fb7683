//! vCard 3.0 / 4.0 ↔ FieldMap (R-MAP-4, R-FIELD-1, R-MAP-6).

mod entries;
mod fold;
mod render;
mod slots;

use calcard::vcard::{VCardEntry, VCardValue};
use chrono::{DateTime, Utc};
use crmsync_model::FieldMap;

use crate::content_line::{RawComponent, RawLine, check_bytes, parse_tree, split_lines};
use crate::error::{Format, MappingError};
use entries::read_entries;
pub use render::render_vcard;
use slots::{Slot, assign, slot_values};

/// The vCard versions crmsync reads and writes. vCard 2.1 is read as 3.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardVersion {
    V3,
    V4,
}

impl CardVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CardVersion::V3 => "3.0",
            CardVersion::V4 => "4.0",
        }
    }

    fn parse(text: &str) -> Option<CardVersion> {
        match text.trim() {
            "4.0" => Some(CardVersion::V4),
            "3.0" | "2.1" => Some(CardVersion::V3),
            _ => None,
        }
    }
}

/// What a vCard holds, reduced to what sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCard {
    pub fields: FieldMap,
    pub uid: String,
    pub version: CardVersion,
    /// REV, when the card has a readable one (R-EDIT-3 newest-wins).
    pub last_modified: Option<DateTime<Utc>>,
}

pub fn parse_vcard(text: &str) -> Result<ParsedCard, MappingError> {
    let layout = CardLayout::read(text)?;
    let uid = layout.uid().ok_or(MappingError::MissingUid { format: Format::VCard })?;
    let last_modified = layout
        .lines
        .iter()
        .zip(&layout.entries)
        .filter(|(l, _)| l.is("REV"))
        .find_map(|(_, e)| match e.as_ref()?.values.first()? {
            VCardValue::PartialDateTime(p) => {
                let dt = p.to_date_time()?;
                let offset = dt.offset.map(|o| o.local_minus_utc()).unwrap_or(0);
                Some((dt.date_time - chrono::Duration::seconds(offset as i64)).and_utc())
            }
            _ => None,
        });
    Ok(ParsedCard {
        fields: layout.fields(),
        uid,
        version: layout.version,
        last_modified,
    })
}

/// Like [`parse_vcard`], for bytes straight from a server or file.
pub fn parse_vcard_bytes(bytes: &[u8]) -> Result<ParsedCard, MappingError> {
    parse_vcard(check_bytes(Format::VCard, bytes)?)
}

/// A card read line by line: each property's raw text, calcard's reading of
/// it, and the slot it fills.
pub(crate) struct CardLayout {
    /// The card's BEGIN and END lines; its properties are in `lines`.
    pub root: RawComponent,
    pub lines: Vec<RawLine>,
    pub entries: Vec<Option<VCardEntry>>,
    pub slots: Vec<Option<Slot>>,
    pub version: CardVersion,
}

impl CardLayout {
    pub fn read(text: &str) -> Result<CardLayout, MappingError> {
        let mut root = parse_tree(Format::VCard, split_lines(Format::VCard, text)?)?;
        if root.name != "VCARD" {
            return Err(MappingError::WrongComponent {
                format: Format::VCard,
                expected: "VCARD".into(),
                found: root.name.clone(),
            });
        }
        if let Some(inner) = root.components().next() {
            return Err(MappingError::malformed(
                Format::VCard,
                inner.begin.line_no,
                format!("nested BEGIN:{} inside a vCard", inner.name),
            ));
        }
        // A card's children are all properties (nested components were
        // refused above): moved out, not copied (R-PERF-5). The root keeps
        // its BEGIN and END lines for the renderer.
        let lines = root.take_props();
        let version = match lines.iter().find(|l| l.is("VERSION")) {
            Some(l) => CardVersion::parse(l.value_text()).ok_or_else(|| {
                MappingError::malformed(
                    Format::VCard,
                    l.line_no,
                    format!("unsupported vCard version {:?}", l.value_text()),
                )
            })?,
            // Lenient: some exporters omit VERSION; 3.0 is the common dialect.
            None => CardVersion::V3,
        };
        let entries = read_entries(&lines, version).entries;
        let slots = assign(&entries);
        Ok(CardLayout {
            root,
            lines,
            entries,
            slots,
            version,
        })
    }

    pub fn uid(&self) -> Option<String> {
        self.slot_entry(Slot::Uid)
            .and_then(|e| e.values.first())
            .map(slots::value_text)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    pub fn slot_entry(&self, slot: Slot) -> Option<&VCardEntry> {
        let idx = self.slots.iter().position(|s| *s == Some(slot))?;
        self.entries[idx].as_ref()
    }

    pub fn fields(&self) -> FieldMap {
        let mut map = FieldMap::new();
        for (slot, entry) in self.slots.iter().zip(&self.entries) {
            if let (Some(slot), Some(entry)) = (slot, entry) {
                for (k, v) in slot_values(*slot, entry) {
                    map.set(k, v);
                }
            }
        }
        map
    }
}
