//! ETags and sync tokens for files.
//!
//! ETag = SHA-256 of the file's bytes, not mtime+size: mtime has a coarse
//! granularity on some file systems (1 s on ext3/HFS+, 2 s on FAT), so an editor
//! saving a same-length change within that window would keep the old "ETag" and
//! the conditional write would overwrite it: a lost edit. Copies and restores
//! (`cp -p`, rsync, backups) also keep mtimes while content may differ, or change
//! them while content does not. A content hash changes exactly when the content
//! does. Its cost is reading every file on a listing, which for address books
//! and calendars (a few MB) is small next to the network connectors' round trips.

use sha2::{Digest, Sha256};

use crmsync_connector::{Etag, ItemMeta, SyncToken};

pub fn etag_of(body: &[u8]) -> Etag {
    Etag::new(format!("sha256-{}", hex::encode(Sha256::digest(body))))
}

/// ETag for a file we may not read: derived from what `stat` shows, so it still
/// changes when the file does, and never equals a content ETag.
pub fn unreadable_etag(len: u64, modified_ns: u128) -> Etag {
    Etag::new(format!("unreadable-{len}-{modified_ns}"))
}

/// A digest of the whole listing: equal tokens mean no file was added, removed
/// or changed. `listing` must be sorted by href.
pub fn listing_token(listing: &[ItemMeta]) -> SyncToken {
    let mut digest = ListingDigest::default();
    digest.add(listing);
    digest.token()
}

/// [`listing_token`] taken a page at a time, so a listing handed over in
/// pages (R-SCALE-10) is never held whole; pages in href order.
#[derive(Default)]
pub struct ListingDigest(Sha256);

impl ListingDigest {
    pub fn add(&mut self, page: &[ItemMeta]) {
        for item in page {
            self.0.update(item.href.as_str().as_bytes());
            self.0.update([0]);
            self.0.update(item.etag.as_str().as_bytes());
            self.0.update([b'\n']);
        }
    }

    pub fn token(self) -> SyncToken {
        SyncToken::new(format!("vdir-{}", hex::encode(self.0.finalize())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_connector::Href;

    #[test]
    fn etag_follows_content_only() {
        assert_eq!(etag_of(b"x"), etag_of(b"x"));
        assert_ne!(etag_of(b"x"), etag_of(b"y"));
    }

    #[test]
    fn token_changes_with_any_entry() {
        let item = |h: &str, e: &[u8]| ItemMeta {
            href: Href::new(h),
            etag: etag_of(e),
        };
        let base = listing_token(&[item("a.vcf", b"1"), item("b.vcf", b"2")]);
        assert_eq!(base, listing_token(&[item("a.vcf", b"1"), item("b.vcf", b"2")]));
        assert_ne!(base, listing_token(&[item("a.vcf", b"1"), item("b.vcf", b"3")]));
        assert_ne!(base, listing_token(&[item("a.vcf", b"1")]));
        assert_ne!(base, listing_token(&[item("a.vcf", b"1"), item("c.vcf", b"2")]));
        // The separator keeps href/etag boundaries unambiguous.
        assert_ne!(listing_token(&[item("ab", b"")]), listing_token(&[item("a", b"")]));
    }
}
