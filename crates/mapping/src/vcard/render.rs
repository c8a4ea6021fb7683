//! Writes a vCard from a FieldMap. With the previous version of the card,
//! only the properties whose mapped values changed are rewritten; every
//! other line, foreign or unchanged, is copied byte for byte (R-MAP-6).

use calcard::common::Data;
use calcard::vcard::{
    VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty, VCardType, VCardValue,
    VCardValueType,
};
use crmsync_model::FieldMap;

use super::fold::{Params, Value, write_line};
use super::slots::{PHONE_FAX, PHONE_HOME, PHONE_MOBILE, PHONE_OTHER, Slot, slot_values};
use super::{CardLayout, CardVersion};
use crate::contact_fields::{NAME_KEYS, decode_photo};
use crate::error::{Format, MappingError};
use crate::notes::join_notes;

/// Renders `fields` as a vCard of `version` with `uid`. With `previous`,
/// the result is `previous` with only the changed properties rewritten.
/// Fails only when `previous` itself cannot be read: rendering over an
/// unreadable card would drop what crmsync does not understand.
pub fn render_vcard(
    fields: &FieldMap,
    uid: &str,
    version: CardVersion,
    previous: Option<&str>,
) -> Result<String, MappingError> {
    crate::content_line::check_written(Format::VCard, render_any_size(fields, uid, version, previous)?)
}

fn render_any_size(
    fields: &FieldMap,
    uid: &str,
    version: CardVersion,
    previous: Option<&str>,
) -> Result<String, MappingError> {
    let Some(previous) = previous else {
        return Ok(render_fresh(fields, uid, version));
    };
    let layout = CardLayout::read(previous)?;
    let prev_fields = layout.fields();
    let mut out = String::new();
    out.push_str(&layout.root.begin.raw);
    let mut seen: Vec<Slot> = Vec::new();
    let name_changed = display_name(&prev_fields) != display_name(fields);
    for (idx, line) in layout.lines.iter().enumerate() {
        let (Some(slot), Some(entry)) = (layout.slots[idx], layout.entries[idx].as_ref()) else {
            out.push_str(&line.raw);
            continue;
        };
        seen.push(slot);
        let keep = match slot {
            Slot::Version => layout.version == version,
            Slot::Uid => layout.uid().as_deref() == Some(uid),
            // A custom FN ("Dr. Bob") stays until the name itself changes.
            Slot::FormattedName => !name_changed,
            _ => slot_values(slot, entry)
                .iter()
                .all(|(k, v)| fields.get(k).unwrap_or("") == v.as_str()),
        };
        if keep {
            out.push_str(&line.raw);
        } else {
            write_slot(&mut out, slot, fields, uid, version, Some(entry));
        }
    }
    for slot in Slot::all() {
        if !seen.contains(&slot) {
            write_slot(&mut out, slot, fields, uid, version, None);
        }
    }
    out.push_str(&layout.root.end.raw);
    Ok(out)
}

fn render_fresh(fields: &FieldMap, uid: &str, version: CardVersion) -> String {
    let mut out = String::from("BEGIN:VCARD\r\n");
    for slot in Slot::all() {
        write_slot(&mut out, slot, fields, uid, version, None);
        if slot == Slot::Version {
            out.push_str("PRODID:-//crmsync//crmsync//EN\r\n");
        }
    }
    out.push_str("END:VCARD\r\n");
    out
}

/// `ContactFields::display_name` of the contact `fields` describe, read
/// from the map directly: building the whole contact for it cost more than
/// the rest of a fresh card (R-PERF-4).
fn display_name(fields: &FieldMap) -> String {
    // Empty parts are skipped, as the contact's own display name does (a
    // map read back from JSON may hold one).
    let name: Vec<&str> = NAME_KEYS
        .iter()
        .filter_map(|k| fields.get(k))
        .filter(|s| !s.is_empty())
        .collect();
    if !name.is_empty() {
        return name.join(" ");
    }
    fields
        .get("company")
        .or_else(|| fields.get("email1"))
        .unwrap_or_default()
        .to_string()
}

fn text(s: &str) -> VCardValue {
    VCardValue::Text(s.to_string())
}

fn type_param(t: VCardType) -> VCardParameter {
    VCardParameter {
        name: VCardParameterName::Type,
        value: VCardParameterValue::Type(t),
    }
}

/// Writes the slot's property, or nothing when the slot is empty (N and FN
/// are written even empty: vCard 3.0 requires both). The line is written
/// from borrowed parts by `fold::write_line`; only what it does not know
/// goes through a calcard entry (R-PERF-6).
fn write_slot(
    out: &mut String,
    slot: Slot,
    fields: &FieldMap,
    uid: &str,
    version: CardVersion,
    previous: Option<&VCardEntry>,
) {
    let get = |k: &str| fields.get(k).unwrap_or("");
    let keys = slot.keys();
    let group = previous.and_then(|e| e.group.as_deref());
    let old_value = |i: usize| {
        previous
            .and_then(|e| e.values.get(i))
            .map_or(Value::Str(""), Value::Kept)
    };
    let mut params = match previous {
        Some(e) => Params::Kept(&e.params),
        None => Params::Types(&[]),
    };
    // Owned text a value borrows from.
    let (name_text, tel_uri, note);
    let (name, values): (VCardProperty, Vec<Value<'_>>) = match slot {
        Slot::Version => {
            out.push_str("VERSION:");
            out.push_str(version.as_str());
            out.push_str("\r\n");
            return;
        }
        Slot::Uid => (VCardProperty::Uid, vec![Value::Str(uid)]),
        Slot::FormattedName => {
            name_text = display_name(fields);
            (VCardProperty::Fn, vec![Value::Str(&name_text)])
        }
        Slot::Name => (
            VCardProperty::N,
            [3, 1, 2, 0, 4].iter().map(|&i| Value::Str(get(keys[i]))).collect(),
        ),
        Slot::Org => {
            if keys.iter().all(|k| get(k).is_empty()) {
                return;
            }
            // Units below the department are not mapped; keep them.
            let mut v = vec![Value::Str(get("company")), Value::Str(get("department"))];
            v.extend(
                previous
                    .into_iter()
                    .flat_map(|e| e.values.iter().skip(2))
                    .map(Value::Kept),
            );
            while v.len() > 1 && v.last().is_some_and(Value::is_empty_text) {
                v.pop();
            }
            (VCardProperty::Org, v)
        }
        Slot::Title | Slot::Url | Slot::Email(_) | Slot::Phone(_) => {
            let value = get(keys[0]);
            if value.is_empty() {
                return;
            }
            let name = match slot {
                Slot::Title => VCardProperty::Title,
                Slot::Url => VCardProperty::Url,
                Slot::Email(_) => VCardProperty::Email,
                _ => VCardProperty::Tel,
            };
            match (slot, previous) {
                (Slot::Phone(i), None) => params = Params::Types(phone_types(i)),
                (Slot::Email(_), None) if version == CardVersion::V3 => params = Params::Internet,
                _ => {}
            }
            // A tel: URI value (vCard 4.0 VALUE=uri) stays a URI.
            let value = match (slot, previous.and_then(|e| e.values.first())) {
                (Slot::Phone(_), Some(VCardValue::Text(old))) if old.to_ascii_lowercase().starts_with("tel:") => {
                    tel_uri = format!("tel:{value}");
                    tel_uri.as_str()
                }
                _ => value,
            };
            (name, vec![Value::Str(value)])
        }
        Slot::Address(k) => {
            if keys.iter().all(|key| get(key).is_empty()) {
                return;
            }
            if previous.is_none() {
                params = Params::Types(match k {
                    0 => &[VCardType::Work],
                    1 => &[VCardType::Home],
                    _ => &[],
                });
            }
            // PO box and extended address are not mapped; keep them.
            let mut v = vec![old_value(0), old_value(1)];
            v.extend(keys.iter().map(|key| Value::Str(get(key))));
            (VCardProperty::Adr, v)
        }
        Slot::Note => {
            note = join_notes(get("notes"), get("journal"));
            if note.is_empty() {
                return;
            }
            (VCardProperty::Note, vec![Value::Str(&note)])
        }
        Slot::Photo => {
            let photo = get("photo");
            if photo.is_empty() {
                return;
            }
            write_photo(out, photo, version, group.map(str::to_string));
            return;
        }
    };
    if !write_line(out, group, &name, params, &values) {
        // Text properties are written in 4.0 syntax for both versions: it
        // is valid 3.0 too and avoids the 2.1-style CHARSET parameter.
        let _ = calcard_entry(group, name, params, &values).write_to(out, true);
    }
}

/// The same line as a calcard entry, for the parameters and values only
/// calcard writes.
fn calcard_entry(group: Option<&str>, name: VCardProperty, params: Params<'_>, values: &[Value<'_>]) -> VCardEntry {
    VCardEntry {
        group: group.map(str::to_string),
        name,
        params: match params {
            Params::Kept(p) => p.to_vec(),
            Params::Types(types) => types.iter().cloned().map(type_param).collect(),
            Params::Internet => vec![VCardParameter {
                name: VCardParameterName::Type,
                value: VCardParameterValue::Text("INTERNET".into()),
            }],
        },
        values: values
            .iter()
            .map(|v| match v {
                Value::Str(s) => text(s),
                Value::Kept(v) => (*v).clone(),
            })
            .collect(),
    }
}

fn phone_types(slot: usize) -> &'static [VCardType] {
    match slot {
        PHONE_HOME => &[VCardType::Home, VCardType::Voice],
        PHONE_MOBILE => &[VCardType::Cell],
        PHONE_FAX => &[VCardType::Work, VCardType::Fax],
        PHONE_OTHER => &[VCardType::Voice],
        _ => &[VCardType::Work, VCardType::Voice],
    }
}

fn write_photo(out: &mut String, photo: &str, version: CardVersion, group: Option<String>) {
    let entry = match (version, decode_photo(photo)) {
        // vCard 3.0 carries inline pictures as ENCODING=b with a TYPE.
        (CardVersion::V3, Some((media_type, data))) => VCardEntry {
            group,
            name: VCardProperty::Photo,
            params: vec![],
            values: vec![VCardValue::Binary(Data {
                content_type: Some(media_type),
                data,
            })],
        },
        (CardVersion::V3, None) => VCardEntry {
            group,
            name: VCardProperty::Photo,
            params: vec![VCardParameter {
                name: VCardParameterName::Value,
                value: VCardParameterValue::ValueType(VCardValueType::Uri),
            }],
            values: vec![text(photo)],
        },
        // vCard 4.0: the data: URI (or URL) is the value itself.
        (CardVersion::V4, _) => VCardEntry {
            group,
            name: VCardProperty::Photo,
            params: vec![],
            values: vec![text(photo)],
        },
    };
    let _ = entry.write_to(out, version == CardVersion::V4);
}

#[cfg(test)]
mod tests {
    use crmsync_model::ContactFields;
    use proptest::prelude::*;

    use super::display_name;
    use crate::contact_fields::{contact_to_fields, fields_to_contact};

    fn part() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[ a-zA-Zé.@-]{0,8}")
    }

    proptest! {
        /// R-PERF-4: FN read straight from the map names the contact exactly
        /// as the contact built from the map would (the way it was computed
        /// before), blanks, company and e-mail fallbacks included.
        #[test]
        fn r_perf_4_display_name_from_the_map_is_the_contacts(
            prefix in part(), first in part(), middle in part(), last in part(), suffix in part(),
            company in part(), email in part(),
        ) {
            let contact = ContactFields {
                prefix, first_name: first, middle_name: middle, last_name: last, suffix,
                company, email1: email,
                ..ContactFields::default()
            };
            let fields = contact_to_fields(&contact);
            let built = fields_to_contact(&fields, &ContactFields::default()).display_name();
            prop_assert_eq!(display_name(&fields), built);
        }
    }

    /// A map read back from JSON may hold an empty part, which the contact's
    /// display name skips (found in review of R-PERF-4).
    #[test]
    fn r_perf_4_display_name_skips_empty_parts_of_a_stored_map() {
        let fields: crmsync_model::FieldMap =
            serde_json::from_str(r#"{"first_name": "", "last_name": "Lovelace"}"#).unwrap();
        assert_eq!(display_name(&fields), "Lovelace");
        assert_eq!(
            display_name(&fields),
            fields_to_contact(&fields, &ContactFields::default()).display_name()
        );
        let blank: crmsync_model::FieldMap = serde_json::from_str(r#"{"first_name": "", "company": "ACME"}"#).unwrap();
        assert_eq!(display_name(&blank), "ACME");
    }

    #[test]
    fn r_perf_4_spelled_out_address_keys_are_kind_dot_part() {
        use crate::contact_fields::{ADDRESS_KEYS, ADDRESS_KINDS, ADDRESS_PARTS};
        for (k, kind) in ADDRESS_KINDS.iter().enumerate() {
            for (p, part) in ADDRESS_PARTS.iter().enumerate() {
                assert_eq!(ADDRESS_KEYS[k][p], format!("{kind}.{part}"));
            }
        }
    }
}
