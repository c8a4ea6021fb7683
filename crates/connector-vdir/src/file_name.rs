//! File names for items and collections, and checks on hrefs handed back to us.
//!
//! A UID can hold anything (`/`, control characters, 300 characters, non-ASCII
//! that macOS would re-normalise). Names must be valid on every file system a
//! vdir may live on (ext4, APFS, NTFS, FAT, SMB), so everything outside a small
//! safe set is `%XX`-escaped byte by byte. The mapping is injective: distinct
//! UIDs never share a file name, so "name taken" really means "this UID exists".

use crmsync_connector::{ConnectorError, Href};
use sha2::{Digest, Sha256};

/// Longest escaped base name kept as is; leaves room for the extension and stays
/// far below the 255-byte limit of common file systems.
const MAX_BASE_LEN: usize = 120;
/// Length of the readable prefix kept when a name is shortened.
const SHORTENED_PREFIX_LEN: usize = 100;

/// Windows device names, reserved with any extension on NTFS/FAT/SMB.
const RESERVED: [&str; 4] = ["con", "prn", "aux", "nul"];

fn is_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'@' | b'+')
}

/// `%XX`-escapes `name` into a name safe on every file system (no extension).
/// `~` is never produced by escaping, so it marks shortened and synthetic names.
pub fn safe_base_name(name: &str) -> String {
    if name.is_empty() {
        return "~empty".to_owned();
    }
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        // A leading dot would hide the file (and "." / ".." are not names).
        if is_safe(byte) && !(i == 0 && byte == b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    let stem = out.split('.').next().unwrap_or_default().to_ascii_lowercase();
    let reserved = RESERVED.contains(&stem.as_str())
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.replace_range(0..1, &format!("%{:02X}", out.as_bytes()[0]));
    }
    if out.len() > MAX_BASE_LEN {
        // Keep a readable prefix (never cutting through a %XX) and make the
        // name unique again with a hash of the whole original.
        let mut cut = SHORTENED_PREFIX_LEN;
        while out.as_bytes()[cut - 1] == b'%' || out.as_bytes()[cut - 2] == b'%' {
            cut -= 1;
        }
        let digest = hex::encode(&Sha256::digest(name.as_bytes())[..8]);
        out = format!("{}~{digest}", &out[..cut]);
    }
    out
}

/// The item file name for a UID.
pub fn item_file_name(uid: &str, extension: &str) -> String {
    format!("{}.{extension}", safe_base_name(uid))
}

/// Whether `name` is an item file of a collection: not hidden (which also skips
/// our temp files), and ending in one of the vdir item extensions. The metadata
/// files `displayname` and `color` have no extension and are skipped.
pub fn is_item_file_name(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".vcf") || lower.ends_with(".ics")
}

/// Checks that an href is a plain item file name inside the collection, so a
/// crafted href can never reach outside it.
pub fn checked_href(href: &Href) -> Result<&str, ConnectorError> {
    checked_component(href.as_str()).map_err(|reason| ConnectorError::InvalidHref {
        href: href.as_str().to_owned(),
        reason,
    })
}

/// Checks a single path component (a collection id or file name).
pub fn checked_component(name: &str) -> Result<&str, String> {
    if name.is_empty() {
        return Err("empty name".to_owned());
    }
    if name.starts_with('.') {
        return Err("hidden names and . / .. are not items".to_owned());
    }
    if name.contains(['/', '\\', '\0']) {
        return Err("contains a path separator or NUL".to_owned());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_uids_stay_readable() {
        assert_eq!(
            item_file_name("4F2A-77b1@example.org", "vcf"),
            "4F2A-77b1@example.org.vcf"
        );
    }

    #[test]
    fn separators_controls_and_non_ascii_are_escaped() {
        assert_eq!(safe_base_name("a/b\\c"), "a%2Fb%5Cc");
        assert_eq!(safe_base_name("tab\there\n"), "tab%09here%0A");
        assert_eq!(safe_base_name("ü"), "%C3%BC");
        assert_eq!(safe_base_name("100%"), "100%25");
        assert_eq!(safe_base_name("x:y*?\"<>|"), "x%3Ay%2A%3F%22%3C%3E%7C");
    }

    #[test]
    fn hidden_and_dot_names_are_escaped() {
        assert_eq!(safe_base_name("."), "%2E");
        assert_eq!(safe_base_name(".."), "%2E.");
        assert_eq!(safe_base_name(".hidden"), "%2Ehidden");
        assert_eq!(safe_base_name(""), "~empty");
    }

    #[test]
    fn windows_device_names_are_escaped() {
        assert_eq!(safe_base_name("CON"), "%43ON");
        assert_eq!(safe_base_name("nul.x"), "%6Eul.x");
        assert_eq!(safe_base_name("com1"), "%63om1");
        assert_eq!(safe_base_name("console"), "console");
    }

    #[test]
    fn long_names_are_shortened_uniquely() {
        let a = "a".repeat(300);
        let b = format!("{}b", "a".repeat(299));
        let (na, nb) = (item_file_name(&a, "ics"), item_file_name(&b, "ics"));
        assert!(na.len() <= MAX_BASE_LEN + 4, "{}", na.len());
        assert_ne!(na, nb);
        // Escapes are never cut in half.
        let long_escaped = "ü".repeat(100);
        let n = safe_base_name(&long_escaped);
        let prefix = n.split('~').next().unwrap();
        assert!(prefix.len().is_multiple_of(3), "cut inside an escape: {prefix}");
    }

    #[test]
    fn escaping_is_injective_on_tricky_pairs() {
        let pairs = [("a/b", "a%2Fb"), ("a b", "a_b"), ("~empty", ""), ("A", "a")];
        for (x, y) in pairs {
            assert_ne!(safe_base_name(x), safe_base_name(y), "{x:?} vs {y:?}");
        }
    }

    #[test]
    fn only_plain_names_are_accepted_as_hrefs() {
        for bad in ["", ".", "..", "../x.vcf", "a/b.vcf", ".crmsync-tmp-1", "a\0b"] {
            assert!(checked_href(&Href::new(bad)).is_err(), "{bad:?} accepted");
        }
        assert!(checked_href(&Href::new("x y.vcf")).is_ok());
    }

    #[test]
    fn metadata_and_temp_files_are_not_items() {
        assert!(is_item_file_name("a.vcf") && is_item_file_name("B.ICS"));
        for not_item in ["displayname", "color", ".crmsync-tmp-x.part", ".a.vcf", "a.vcf~"] {
            assert!(!is_item_file_name(not_item), "{not_item}");
        }
    }
}
