//! Item names and paths. The connector's [`Href`](crmsync_connector::Href) is
//! an item's last path segment inside its collection, in one canonical
//! percent-encoding, because servers differ in how they spell the same path
//! (Radicale answers `a%40b.vcf`, Xandikos `a@b.vcf`).

use percent_encoding::percent_decode_str;
use reqwest::Url;
use sha2::{Digest, Sha256};

/// Bytes kept as-is in a path segment: RFC 3986 unreserved plus `@`, which
/// every server tried accepts literally. Everything else becomes `%XX`.
fn is_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'~')
}

/// Longest UID-derived name kept readable; longer UIDs are hashed (some
/// servers store items as files and cap names near 255 bytes).
const MAX_READABLE: usize = 100;

/// The item name (without extension) for a UID.
///
/// Readable when it can be: the UID percent-encoded. Hashed (`~` + 40 hex
/// digits of its SHA-256) when the UID is empty, starts with `.` (hidden files
/// on file-backed servers) or `~` (keeps hashed names apart from readable
/// ones), holds `/`, `\` or `%` (encoded slashes and percents are refused or
/// double-decoded by common front-end proxies), or is too long. Distinct UIDs
/// get distinct names.
pub fn item_name_for_uid(uid: &str) -> String {
    let risky = uid.is_empty()
        || uid.starts_with('.')
        || uid.starts_with('~')
        || uid.bytes().any(|b| matches!(b, b'/' | b'\\' | b'%'));
    let encoded = encode_segment(uid.as_bytes());
    if risky || encoded.len() > MAX_READABLE {
        let digest = Sha256::digest(uid.as_bytes());
        format!("~{}", &hex::encode(digest)[..40])
    } else {
        encoded
    }
}

/// Percent-encodes raw bytes canonically (upper-case hex).
pub fn encode_segment(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if is_safe(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A segment as a server spelled it, in canonical form.
pub fn canonical_segment(segment: &str) -> String {
    let raw: Vec<u8> = percent_decode_str(segment).collect();
    encode_segment(&raw)
}

/// A path in canonical form, keeping its leading and trailing slashes.
pub fn canonical_path(path: &str) -> String {
    path.split('/').map(canonical_segment).collect::<Vec<_>>().join("/")
}

/// The path of a multistatus href, which may be absolute (`http://h/p`) or a path.
pub fn href_path(base: &Url, href: &str) -> String {
    match base.join(href) {
        Ok(url) => canonical_path(url.path()),
        Err(_) => canonical_path(href),
    }
}

/// The member name of `path` inside the collection at `collection_path`
/// (both canonical), or `None` for the collection itself, sub-collections and
/// paths elsewhere.
pub fn member_name(collection_path: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix(collection_path)?;
    (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
}

/// Checks an href handed back by the runner; returns its canonical form.
pub fn checked_member(href: &str) -> Result<String, String> {
    if href.is_empty() || href == "." || href == ".." {
        return Err("empty or dot name".into());
    }
    if href.contains('/') {
        return Err("holds a path separator".into());
    }
    Ok(canonical_segment(href))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_uids_stay_readable_and_the_rest_is_percent_encoded() {
        assert_eq!(item_name_for_uid("abc-123_x.y"), "abc-123_x.y");
        assert_eq!(item_name_for_uid("a@b.example"), "a@b.example");
        assert_eq!(item_name_for_uid("a b+c"), "a%20b%2Bc");
        assert_eq!(item_name_for_uid("Zoë"), "Zo%C3%AB");
    }

    #[test]
    fn risky_uids_get_hashed_names_that_stay_distinct() {
        let names: Vec<String> = [
            "",
            ".hidden",
            "a/b",
            "a%2Fb",
            "a\\b",
            "~x",
            &"x".repeat(200),
            &"x".repeat(201),
        ]
        .iter()
        .map(|u| item_name_for_uid(u))
        .collect();
        for name in &names {
            assert!(name.starts_with('~') && name.len() == 41, "{name}");
            assert!(name[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        }
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "distinct UIDs must get distinct names");
        // A readable UID can never look like a hashed one: those start with `~`.
        assert!(!item_name_for_uid("abc").starts_with('~'));
    }

    #[test]
    fn servers_spellings_of_one_path_meet_in_one_canonical_form() {
        let base = Url::parse("http://127.0.0.1:5232/").unwrap();
        let radicale = href_path(&base, "/u/contacts/a%40b.vcf");
        let xandikos = href_path(&base, "http://127.0.0.1:5232/u/contacts/a@b.vcf");
        assert_eq!(radicale, xandikos);
        assert_eq!(member_name("/u/contacts/", &radicale).as_deref(), Some("a@b.vcf"));
        assert_eq!(
            member_name("/u/contacts/", "/u/contacts/"),
            None,
            "the collection itself"
        );
        assert_eq!(
            member_name("/u/contacts/", "/u/contacts/sub/"),
            None,
            "a sub-collection"
        );
        assert_eq!(member_name("/u/contacts/", "/u/other/x.vcf"), None);
        assert_eq!(canonical_path("/u/My Cal/"), "/u/My%20Cal/");
        assert_eq!(canonical_segment("a%2fb"), "a%2Fb");
    }

    #[test]
    fn hrefs_from_callers_are_checked() {
        assert_eq!(checked_member("a@b.vcf").unwrap(), "a@b.vcf");
        assert_eq!(checked_member("a%40b.vcf").unwrap(), "a@b.vcf");
        assert!(checked_member("../x.vcf").is_err());
        assert!(checked_member("").is_err());
    }
}
