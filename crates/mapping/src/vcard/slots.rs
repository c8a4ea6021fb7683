//! Which vCard property holds which CRM field. Parse and render share this
//! classification, so a property crmsync wrote is read back into the same
//! field, and every property that lands in no slot is foreign data that the
//! renderer copies verbatim (R-MAP-6).

use calcard::common::IanaString;
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

/// Does the property carry TYPE `name` (lower-case)? Read in place: the
/// type names were formatted and lower-cased into a new list for every
/// check, a tenth of reading a card (R-PERF-6). A known type compares by its
/// name, which for every type asked about here is its variant's name, as the
/// old `{:?}` formatting read it.
fn has_type(entry: &VCardEntry, name: &str) -> bool {
    entry
        .params
        .iter()
        .filter(|p| p.name == VCardParameterName::Type)
        .any(|p| match &p.value {
            VCardParameterValue::Type(t) => t.as_str().eq_ignore_ascii_case(name),
            VCardParameterValue::Text(t) => t.eq_ignore_ascii_case(name),
            _ => false,
        })
}

const EMAIL_SLOTS: [Slot; 3] = [Slot::Email(0), Slot::Email(1), Slot::Email(2)];

/// The phone slots a TEL may fill, by its types; `None` for a pager.
fn phone_category(entry: &VCardEntry) -> Option<&'static [Slot]> {
    let has = |name: &str| has_type(entry, name);
    Some(if has("fax") {
        &[Slot::Phone(PHONE_FAX)]
    } else if has("cell") || has("mobile") || has("iphone") {
        &[Slot::Phone(PHONE_MOBILE)]
    } else if has("pager") {
        return None;
    } else if has("work") {
        &[Slot::Phone(PHONE_BUSINESS), Slot::Phone(PHONE_BUSINESS2)]
    } else if has("home") {
        &[Slot::Phone(PHONE_HOME)]
    } else {
        &[Slot::Phone(PHONE_OTHER)]
    })
}

fn address_category(entry: &VCardEntry) -> usize {
    if has_type(entry, "work") {
        0
    } else if has_type(entry, "home") {
        1
    } else {
        2
    }
}

/// Assigns slots to entries in document order; the first property of a
/// kind wins, later ones are foreign (extra phones, a 4th e-mail, …).
pub(crate) fn assign(entries: &[Option<VCardEntry>]) -> Vec<Option<Slot>> {
    let mut taken: Vec<Slot> = Vec::with_capacity(entries.len());
    entries
        .iter()
        .map(|entry| {
            let entry = entry.as_ref()?;
            let candidates: &[Slot] = match &entry.name {
                VCardProperty::Version => &[Slot::Version],
                VCardProperty::Uid => &[Slot::Uid],
                VCardProperty::Fn => &[Slot::FormattedName],
                VCardProperty::N => &[Slot::Name],
                VCardProperty::Org => &[Slot::Org],
                VCardProperty::Title => &[Slot::Title],
                VCardProperty::Email => &EMAIL_SLOTS,
                VCardProperty::Tel => phone_category(entry)?,
                VCardProperty::Adr => &ADDRESS_SLOTS[address_category(entry)..][..1],
                VCardProperty::Url => &[Slot::Url],
                VCardProperty::Note => &[Slot::Note],
                VCardProperty::Photo => &[Slot::Photo],
                _ => return None,
            };
            let free = candidates.iter().copied().find(|s| !taken.contains(s));
            taken.extend(free);
            free
        })
        .collect()
}

const ADDRESS_SLOTS: [Slot; 3] = [Slot::Address(0), Slot::Address(1), Slot::Address(2)];

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

/// The entry's `i`th value as text: a text value borrowed, not copied
/// before it is normalised into the map's own copy (R-PERF-6).
fn nth(entry: &VCardEntry, i: usize) -> std::borrow::Cow<'_, str> {
    match entry.values.get(i) {
        Some(VCardValue::Text(s)) => std::borrow::Cow::Borrowed(s),
        Some(other) => std::borrow::Cow::Owned(value_text(other)),
        None => std::borrow::Cow::Borrowed(""),
    }
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> &'a str {
    let trimmed = value.trim();
    match trimmed.get(..scheme.len()) {
        Some(head) if head.eq_ignore_ascii_case(scheme) => &trimmed[scheme.len()..],
        _ => trimmed,
    }
}

/// The (key, value) pairs a slot's entry contributes, normalised.
/// The keys are the slot's static names: copied only where a map keeps them.
pub(crate) fn slot_values(slot: Slot, entry: &VCardEntry) -> Vec<(&'static str, String)> {
    let keys = slot.keys();
    let line = |k: usize, v: &str| (keys[k], norm_line(v));
    match slot {
        Slot::Version | Slot::Uid | Slot::FormattedName => vec![],
        // N is family;given;additional;prefix;suffix (RFC 6350 §6.2.2).
        Slot::Name => vec![
            line(0, &nth(entry, 3)),
            line(1, &nth(entry, 1)),
            line(2, &nth(entry, 2)),
            line(3, &nth(entry, 0)),
            line(4, &nth(entry, 4)),
        ],
        Slot::Org => vec![line(0, &nth(entry, 0)), line(1, &nth(entry, 1))],
        Slot::Title | Slot::Url => vec![line(0, &nth(entry, 0))],
        Slot::Email(_) => vec![line(0, strip_scheme(&nth(entry, 0), "mailto:"))],
        Slot::Phone(_) => vec![line(0, strip_scheme(&nth(entry, 0), "tel:"))],
        // ADR is pobox;ext;street;locality;region;code;country (RFC 6350 §6.3.1).
        Slot::Address(_) => (0..5).map(|i| (keys[i], norm_multiline(&nth(entry, i + 2)))).collect(),
        Slot::Note => {
            let (notes, journal) = split_notes(&nth(entry, 0));
            vec![(keys[0], notes), (keys[1], journal)]
        }
        Slot::Photo => {
            let value = match entry.values.first() {
                Some(VCardValue::Binary(data)) => {
                    photo_data_uri(data.content_type.as_deref().unwrap_or_default(), &data.data)
                }
                Some(other) => normalize_photo(&value_text(other)),
                None => String::new(),
            };
            vec![(keys[0], value)]
        }
    }
}

#[cfg(test)]
mod tests {
    use calcard::vcard::VCardType::{self, *};

    use super::*;

    /// R-PERF-6: a known TYPE read by its name answers every type name the
    /// slots ask about as the formatted variant name (`{:?}`, lower-cased)
    /// answered it before.
    #[test]
    fn r_perf_6_type_names_read_in_place_answer_as_the_formatted_ones() {
        let all: [VCardType; 32] = [
            Work,
            Home,
            Billing,
            Delivery,
            Contact,
            Acquaintance,
            Friend,
            Met,
            CoWorker,
            Colleague,
            CoResident,
            Neighbor,
            Child,
            Parent,
            Sibling,
            Spouse,
            Kin,
            Muse,
            Crush,
            Date,
            Sweetheart,
            Me,
            Agent,
            Emergency,
            Text,
            Voice,
            Fax,
            Cell,
            Video,
            Pager,
            Textphone,
            MainNumber,
        ];
        for t in all {
            let entry = VCardEntry::new(VCardProperty::Tel).with_params(vec![calcard::vcard::VCardParameter {
                name: VCardParameterName::Type,
                value: VCardParameterValue::Type(t.clone()),
            }]);
            for name in ["fax", "cell", "mobile", "iphone", "pager", "work", "home"] {
                let formatted = format!("{t:?}").to_ascii_lowercase() == name;
                assert_eq!(has_type(&entry, name), formatted, "{t:?} as {name}");
            }
        }
    }
}
