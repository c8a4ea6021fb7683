//! R-FIELD-1: a CRM contact as the canonical FieldMap and back (R-MAP-4).
//!
//! Keys are ContactFields' names; addresses are `business_address.street`
//! etc. Two normalisations make the map independent of slot bookkeeping
//! that vCard cannot express (R-MAP-10 in docs/RULES.md): e-mails fill
//! `email1..3` from the top, and a lone second business phone is the
//! business phone.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crmsync_model::{Address, ContactFields, FieldMap};

use crate::text::{norm_line, norm_multiline, opt_line};

pub(crate) const ADDRESS_KINDS: [&str; 3] = ["business_address", "home_address", "other_address"];
pub(crate) const ADDRESS_PARTS: [&str; 5] = ["street", "city", "region", "postal_code", "country"];
pub(crate) const NAME_KEYS: [&str; 5] = ["prefix", "first_name", "middle_name", "last_name", "suffix"];
/// `{kind}.{part}` for every address kind and part, spelled out so that
/// mapping a contact formats no key names (R-PERF-4).
pub(crate) const ADDRESS_KEYS: [[&str; 5]; 3] = [
    [
        "business_address.street",
        "business_address.city",
        "business_address.region",
        "business_address.postal_code",
        "business_address.country",
    ],
    [
        "home_address.street",
        "home_address.city",
        "home_address.region",
        "home_address.postal_code",
        "home_address.country",
    ],
    [
        "other_address.street",
        "other_address.city",
        "other_address.region",
        "other_address.postal_code",
        "other_address.country",
    ],
];

/// Every key a contact map can hold, for callers that walk them.
pub fn contact_keys() -> Vec<String> {
    let mut keys: Vec<String> = NAME_KEYS.iter().map(|s| s.to_string()).collect();
    keys.extend(
        [
            "company",
            "job_title",
            "department",
            "website",
            "email1",
            "email2",
            "email3",
        ]
        .map(String::from),
    );
    keys.extend(crmsync_model::fields::keys::PHONES.map(String::from));
    for kind in ADDRESS_KINDS {
        keys.extend(ADDRESS_PARTS.iter().map(|p| format!("{kind}.{p}")));
    }
    keys.extend(["notes", "journal", "photo"].map(String::from));
    keys
}

/// Sets `key` when there is a value. The map starts empty, so an absent value
/// has nothing to remove.
fn put(map: &mut FieldMap, key: &str, value: Option<String>) {
    if let Some(value) = value {
        map.set(key, value);
    }
}

pub fn contact_to_fields(contact: &ContactFields) -> FieldMap {
    let mut map = FieldMap::new();
    let c = contact;
    for (key, value) in NAME_KEYS
        .iter()
        .zip([&c.prefix, &c.first_name, &c.middle_name, &c.last_name, &c.suffix])
    {
        put(&mut map, key, opt_line(value.as_deref()));
    }
    put(&mut map, "company", opt_line(c.company.as_deref()));
    put(&mut map, "job_title", opt_line(c.job_title.as_deref()));
    put(&mut map, "department", opt_line(c.department.as_deref()));
    put(&mut map, "website", opt_line(c.website.as_deref()));
    let emails = compact([&c.email1, &c.email2, &c.email3]);
    for (key, e) in crmsync_model::fields::keys::EMAILS.iter().zip(emails) {
        map.set(*key, e);
    }
    let (business, business2) = match (
        opt_line(c.phone_business.as_deref()),
        opt_line(c.phone_business2.as_deref()),
    ) {
        (None, Some(b2)) => (Some(b2), None),
        other => other,
    };
    put(&mut map, "phone_business", business);
    put(&mut map, "phone_business2", business2);
    put(&mut map, "phone_home", opt_line(c.phone_home.as_deref()));
    put(&mut map, "phone_mobile", opt_line(c.phone_mobile.as_deref()));
    put(&mut map, "phone_fax", opt_line(c.phone_fax.as_deref()));
    put(&mut map, "phone_other", opt_line(c.phone_other.as_deref()));
    for (keys, addr) in ADDRESS_KEYS
        .iter()
        .zip([&c.business_address, &c.home_address, &c.other_address])
    {
        let parts = [&addr.street, &addr.city, &addr.region, &addr.postal_code, &addr.country];
        for (key, value) in keys.iter().zip(parts) {
            put(&mut map, key, value.as_deref().map(norm_multiline));
        }
    }
    put(&mut map, "notes", c.notes.as_deref().map(norm_multiline));
    put(&mut map, "photo", c.photo.as_deref().map(normalize_photo));
    map
}

/// The contact with the map's values; fields the map does not cover
/// (account link, active, shared) keep `base`'s values.
pub fn fields_to_contact(fields: &FieldMap, base: &ContactFields) -> ContactFields {
    let get = |k: &str| fields.get(k).map(str::to_string);
    let address = |kind: &str| Address {
        street: get(&format!("{kind}.street")),
        city: get(&format!("{kind}.city")),
        region: get(&format!("{kind}.region")),
        postal_code: get(&format!("{kind}.postal_code")),
        country: get(&format!("{kind}.country")),
    };
    ContactFields {
        account_id: base.account_id.clone(),
        prefix: get("prefix"),
        first_name: get("first_name"),
        middle_name: get("middle_name"),
        last_name: get("last_name"),
        suffix: get("suffix"),
        company: get("company"),
        job_title: get("job_title"),
        department: get("department"),
        website: get("website"),
        email1: get("email1"),
        email2: get("email2"),
        email3: get("email3"),
        business_address: address("business_address"),
        home_address: address("home_address"),
        other_address: address("other_address"),
        phone_business: get("phone_business"),
        phone_business2: get("phone_business2"),
        phone_home: get("phone_home"),
        phone_mobile: get("phone_mobile"),
        phone_fax: get("phone_fax"),
        phone_other: get("phone_other"),
        notes: get("notes"),
        photo: get("photo"),
        active: base.active,
        shared: base.shared,
    }
}

fn compact(values: [&Option<String>; 3]) -> Vec<String> {
    values.into_iter().filter_map(|v| opt_line(v.as_deref())).collect()
}

/// `data:` URIs are re-encoded (lower-case media type, canonical base64 with
/// no line breaks) so the same picture compares equal from either side.
pub(crate) fn normalize_photo(photo: &str) -> String {
    let trimmed = photo.trim();
    let Some(rest) = trimmed.strip_prefix("data:") else {
        return norm_line(trimmed);
    };
    let Some((media, data)) = rest.split_once(',') else {
        return norm_line(trimmed);
    };
    let Some(media_type) = media.strip_suffix(";base64") else {
        return norm_line(trimmed);
    };
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    match STANDARD.decode(compact.as_bytes()) {
        Ok(bytes) => photo_data_uri(&media_type.to_ascii_lowercase(), &bytes),
        Err(_) => norm_line(trimmed),
    }
}

pub(crate) fn photo_data_uri(media_type: &str, bytes: &[u8]) -> String {
    let media_type = if media_type.is_empty() {
        "application/octet-stream"
    } else {
        media_type
    };
    format!("data:{media_type};base64,{}", STANDARD.encode(bytes))
}

/// Splits a normalised data URI into media type and bytes.
pub(crate) fn decode_photo(photo: &str) -> Option<(String, Vec<u8>)> {
    let rest = photo.strip_prefix("data:")?;
    let (media, data) = rest.split_once(',')?;
    let media_type = media.strip_suffix(";base64")?;
    let bytes = STANDARD.decode(data.as_bytes()).ok()?;
    Some((media_type.to_string(), bytes))
}
