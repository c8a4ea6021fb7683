//! Which vCard property holds which CRM field. Parse and render share this
//! classification, so a property crmsync wrote is read back into the same
//! field, and every property that lands in no slot is foreign data that the
//! renderer copies verbatim (R-MAP-6).

use calcard::vcard::{VCardEntry, VCardParameterName, VCardParameterValue, VCardProperty, VCardValue};

use crate::contact_fields::{ADDRESS_KEYS, NAME_KEYS, normalize_photo, photo_data_uri};
use crate::notes::split_notes;
use crate::text::{norm_line, norm_multiline};
use crmsync_model::fields::keys::PHONES;

pub(crate) const PHONE_BUSINESS: usize = 0;
pub(crate) const PHONE_BUSINESS2: usize = 1;
pub(crate) const PHONE_HOME: usize = 2;
pub(crate) const PHONE_MOBILE: usize = 3;
pub(crate) const PHONE_FAX: usize = 4;
pub(crate) const PHONE_OTHER: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Slot {
    Version,
    Uid,
    FormattedName,
    Name,
    Org,
    Title,
    Email(usize),
    Phone(usize),
    Address(usize),
    Url,
    Note,
    Photo,
}

impl Slot {
    /// The slots a card can hold, in the order a fresh card lists them.
    pub fn all() -> [Slot; 21] {
        [
            Slot::Version,
            Slot::Uid,
            Slot::FormattedName,
            Slot::Name,
            Slot::Org,
            Slot::Title,
            Slot::Email(0),
            Slot::Email(1),
            Slot::Email(2),
            Slot::Phone(0),
            Slot::Phone(1),
            Slot::Phone(2),
            Slot::Phone(3),
            Slot::Phone(4),
            Slot::Phone(5),
            Slot::Address(0),
            Slot::Address(1),
            Slot::Address(2),
            Slot::Url,
            Slot::Note,
            Slot::Photo,
        ]
    }

    /// FieldMap keys this slot carries (empty for bookkeeping slots).
    /// Static, so rendering a card allocates no key names (R-PERF-4).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Slot::Version | Slot::Uid | Slot::FormattedName => &[],
            Slot::Name => &NAME_KEYS,
            Slot::Org => &["company", "department"],
            Slot::Title => &["job_title"],
            Slot::Email(i) => std::slice::from_ref(&EMAIL_KEYS[i]),
            Slot::Phone(i) => std::slice::from_ref(&PHONES[i]),
            Slot::Address(k) => &ADDRESS_KEYS[k],
            Slot::Url => &["website"],
            Slot::Note => &["notes", "journal"],
            Slot::Photo => &["photo"],
        }
    }
}

const EMAIL_KEYS: [&str; 3] = ["email1", "email2", "email3"];

/// Lower-cased TYPE values of a property (`TEL;TYPE=WORK,VOICE` and the
/// vCard 2.1/3.0 bare form `TEL;WORK;VOICE` alike).
pub(crate) fn types(entry: &VCardEntry) -> Vec<String> {
    entry
        .params
        .iter()
        .filter(|p| p.name == VCardParameterName::Type)
        .filter_map(|p| match &p.value {
            VCardParameterValue::Type(t) => Some(format!("{t:?}").to_ascii_lowercase()),
            VCardParameterValue::Text(t) => Some(t.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn phone_category(entry: &VCardEntry) -> Option<Vec<usize>> {
    let t = types(entry);
    let has = |name: &str| t.iter().any(|x| x == name);
    if has("fax") {
        Some(vec![PHONE_FAX])
    } else if has("cell") || has("mobile") || has("iphone") {
        Some(vec![PHONE_MOBILE])
    } else if has("pager") {
        None
    } else if has("work") {
        Some(vec![PHONE_BUSINESS, PHONE_BUSINESS2])
    } else if has("home") {
        Some(vec![PHONE_HOME])
    } else {
        Some(vec![PHONE_OTHER])
    }
}

fn address_category(entry: &VCardEntry) -> usize {
    let t = types(entry);
    if t.iter().any(|x| x == "work") {
        0
    } else if t.iter().any(|x| x == "home") {
        1
    } else {
        2
    }
}

/// Assigns slots to entries in document order; the first property of a
/// kind wins, later ones are foreign (extra phones, a 4th e-mail, …).
pub(crate) fn assign(entries: &[Option<VCardEntry>]) -> Vec<Option<Slot>> {
    let mut taken: Vec<Slot> = Vec::new();
    let take = |candidates: Vec<Slot>, taken: &mut Vec<Slot>| {
        let free = candidates.into_iter().find(|s| !taken.contains(s));
        if let Some(s) = free {
            taken.push(s);
        }
        free
    };
    entries
        .iter()
        .map(|entry| {
            let entry = entry.as_ref()?;
            let candidates = match &entry.name {
                VCardProperty::Version => vec![Slot::Version],
                VCardProperty::Uid => vec![Slot::Uid],
                VCardProperty::Fn => vec![Slot::FormattedName],
                VCardProperty::N => vec![Slot::Name],
                VCardProperty::Org => vec![Slot::Org],
                VCardProperty::Title => vec![Slot::Title],
                VCardProperty::Email => (0..3).map(Slot::Email).collect(),
                VCardProperty::Tel => phone_category(entry)?.into_iter().map(Slot::Phone).collect(),
                VCardProperty::Adr => vec![Slot::Address(address_category(entry))],
                VCardProperty::Url => vec![Slot::Url],
                VCardProperty::Note => vec![Slot::Note],
                VCardProperty::Photo => vec![Slot::Photo],
                _ => return None,
            };
            take(candidates, &mut taken)
        })
        .collect()
}

pub(crate) fn value_text(v: &VCardValue) -> String {
    match v {
        VCardValue::Text(s) => s.clone(),
        VCardValue::Component(items) => items.join(","),
        VCardValue::Integer(i) => i.to_string(),
        VCardValue::Float(f) => f.to_string(),
        VCardValue::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

fn nth(entry: &VCardEntry, i: usize) -> String {
    entry.values.get(i).map(value_text).unwrap_or_default()
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> &'a str {
    let trimmed = value.trim();
    match trimmed.get(..scheme.len()) {
        Some(head) if head.eq_ignore_ascii_case(scheme) => &trimmed[scheme.len()..],
        _ => trimmed,
    }
}

/// The (key, value) pairs a slot's entry contributes, normalised.
pub(crate) fn slot_values(slot: Slot, entry: &VCardEntry) -> Vec<(String, String)> {
    let keys = slot.keys();
    let line = |k: usize, v: String| (keys[k].to_string(), norm_line(&v));
    match slot {
        Slot::Version | Slot::Uid | Slot::FormattedName => vec![],
        // N is family;given;additional;prefix;suffix (RFC 6350 §6.2.2).
        Slot::Name => vec![
            line(0, nth(entry, 3)),
            line(1, nth(entry, 1)),
            line(2, nth(entry, 2)),
            line(3, nth(entry, 0)),
            line(4, nth(entry, 4)),
        ],
        Slot::Org => vec![line(0, nth(entry, 0)), line(1, nth(entry, 1))],
        Slot::Title | Slot::Url => vec![line(0, nth(entry, 0))],
        Slot::Email(_) => vec![line(0, strip_scheme(&nth(entry, 0), "mailto:").to_string())],
        Slot::Phone(_) => vec![line(0, strip_scheme(&nth(entry, 0), "tel:").to_string())],
        // ADR is pobox;ext;street;locality;region;code;country (RFC 6350 §6.3.1).
        Slot::Address(_) => (0..5)
            .map(|i| (keys[i].to_string(), norm_multiline(&nth(entry, i + 2))))
            .collect(),
        Slot::Note => {
            let (notes, journal) = split_notes(&nth(entry, 0));
            vec![(keys[0].to_string(), notes), (keys[1].to_string(), journal)]
        }
        Slot::Photo => {
            let value = match entry.values.first() {
                Some(VCardValue::Binary(data)) => {
                    photo_data_uri(data.content_type.as_deref().unwrap_or_default(), &data.data)
                }
                Some(other) => normalize_photo(&value_text(other)),
                None => String::new(),
            };
            vec![(keys[0].to_string(), value)]
        }
    }
}
