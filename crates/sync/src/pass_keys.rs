//! What a pass holds of every pair of its collection (R-SCALE-10): for each
//! pair a digest of its href and of its ETag, and a digest of its CRM id,
//! 48 bytes a pair in two sorted arrays, where the pair keys as strings
//! (id, CRM id, href, ETag, UID) took about 400 and their indexes 75 more.
//!
//! The pass only asks these keys questions of equality: is this href paired
//! and with which ETag, is this CRM id paired. A digest answers them as the
//! strings would: it is the first 128 bits of the string's SHA-256, so two
//! different strings of a collection share one with a chance below 10^-27
//! at 400k pairs, where a 64-bit hash would leave 10^-8. The few strings a
//! pass needs whole (the pairs a listing left out, the CRM ids of a full
//! pass) are read back from the status store by streaming its pair keys
//! once more, only then.

use std::collections::BTreeSet;

use crmsync_store::status::{PairKey, PairRow};
use sha2::{Digest as _, Sha256};

use crate::error::SyncError;
use crate::stores::RunStores;

/// The first 128 bits of a string's SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct KeyDigest([u8; 16]);

impl KeyDigest {
    pub(crate) fn of(s: &str) -> KeyDigest {
        let full = Sha256::digest(s.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&full[..16]);
        KeyDigest(first)
    }
}

/// The keys of every pair of one collection, as digests.
#[derive(Debug, Default)]
pub(crate) struct PassKeys {
    profile: String,
    collection: String,
    /// (href, ETag) per pair, sorted by href: one binary search per listed item.
    items: Vec<(KeyDigest, KeyDigest)>,
    /// The pairs' CRM ids, sorted.
    records: Vec<KeyDigest>,
}

impl PassKeys {
    /// Streams the collection's pair keys from the store, keeping digests.
    pub(crate) async fn read(store: &RunStores, profile: &str, collection: &str) -> Result<PassKeys, SyncError> {
        let keys = PassKeys::read_at_most(store, profile, collection, usize::MAX).await?;
        Ok(keys.expect("no collection holds usize::MAX pairs"))
    }

    /// [`PassKeys::read`], unless the collection has more than `max` pairs:
    /// then `None`, after reading no more than `max + 1` rows. For keys read
    /// ahead of their pass (R-SYNC-PERF-7), whose memory adds to the pass
    /// that runs meanwhile.
    pub(crate) async fn read_at_most(
        store: &RunStores,
        profile: &str,
        collection: &str,
        max: usize,
    ) -> Result<Option<PassKeys>, SyncError> {
        let mut keys = PassKeys {
            profile: profile.to_string(),
            collection: collection.to_string(),
            ..PassKeys::default()
        };
        let mut too_many = false;
        store
            .sync_state()
            .for_each_pair_key_while(profile, collection, |k| {
                too_many = keys.len() >= max;
                if !too_many {
                    keys.add(&k);
                }
                !too_many
            })
            .await?;
        if too_many {
            return Ok(None);
        }
        keys.seal();
        Ok(Some(keys))
    }

    fn add(&mut self, key: &PairKey) {
        self.items.push((KeyDigest::of(&key.href), KeyDigest::of(&key.etag)));
        self.records.push(KeyDigest::of(&key.crm_id));
    }

    /// Sorts for the binary searches, without the spare capacity the
    /// growing vectors kept (up to half of them).
    fn seal(&mut self) {
        self.items.sort_unstable_by_key(|(href, _)| *href);
        self.records.sort_unstable();
        self.items.shrink_to_fit();
        self.records.shrink_to_fit();
    }

    /// How many pairs the collection has.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Where the pair of `href` sits among the pairs (for a caller marking
    /// pairs it saw), if `href` is paired.
    pub(crate) fn position(&self, href: &str) -> Option<usize> {
        let wanted = KeyDigest::of(href);
        self.items.binary_search_by_key(&wanted, |(h, _)| *h).ok()
    }

    pub(crate) fn has_href(&self, href: &str) -> bool {
        self.position(href).is_some()
    }

    /// Whether the pair at `at` (a [`Self::position`]) has exactly `etag`.
    pub(crate) fn same_etag_at(&self, at: usize, etag: &str) -> bool {
        self.items[at].1 == KeyDigest::of(etag)
    }

    pub(crate) fn has_record(&self, crm_id: &str) -> bool {
        self.records.binary_search(&KeyDigest::of(crm_id)).is_ok()
    }

    /// Whether a pair row read from the store is one of these keys' pairs:
    /// its CRM id and its href both among them (R-SCALE-13; a pair saved
    /// since the keys were read is not).
    pub(crate) fn knows(&self, crm_id: &str, href: &str) -> bool {
        self.has_record(crm_id) && self.has_href(href)
    }

    /// The href and ETag, as stored, of the pairs whose position `wanted`
    /// picks, in href order: read back from the store, so only these are
    /// held as strings.
    pub(crate) async fn hrefs_and_etags(
        &self,
        store: &RunStores,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<Vec<(String, String)>, SyncError> {
        let mut found = Vec::new();
        store
            .sync_state()
            .for_each_pair_key(&self.profile, &self.collection, |k| {
                // A pair saved since the keys were read has no position: the
                // keys, not the store, are what this pass compares against.
                if self.position(&k.href).is_some_and(&wanted) {
                    found.push((k.href, k.etag));
                }
            })
            .await?;
        found.sort();
        Ok(found)
    }

    /// Every pair's CRM id as stored (a full CRM pass reads every paired
    /// record), in CRM id order.
    pub(crate) async fn crm_ids(&self, store: &RunStores) -> Result<BTreeSet<String>, SyncError> {
        let mut ids = BTreeSet::new();
        if self.is_empty() {
            return Ok(ids);
        }
        store
            .sync_state()
            .for_each_pair_key(&self.profile, &self.collection, |k| {
                if self.has_record(&k.crm_id) {
                    ids.insert(k.crm_id);
                }
            })
            .await?;
        Ok(ids)
    }

    /// The full rows of the pairs whose CRM id is one of `crm_ids` or whose
    /// href is one of `hrefs`, among these keys only (R-SCALE-13).
    ///
    /// The pass decides what is paired from these keys (collect.rs lists a
    /// record or item whose key is absent as unpaired). A pair saved after
    /// they were read (`duplicates resolve` links without the profile's
    /// lease) must therefore not come back here too, or the engine would
    /// see one record both paired and unpaired and pair it twice. A row
    /// whose CRM id and href are both among the keys is the pair's current
    /// row, as the earlier read by pair id after the keys gave. Ids and
    /// hrefs without a key are not asked for, so a collection without
    /// pairs (a first sync) sends no pair query.
    pub(crate) async fn rows_touching<'a>(
        &self,
        store: &RunStores,
        crm_ids: impl Iterator<Item = &'a str>,
        hrefs: impl Iterator<Item = &'a str>,
    ) -> Result<Vec<PairRow>, SyncError> {
        let crm_ids: Vec<&str> = crm_ids.filter(|id| self.has_record(id)).collect();
        let hrefs: Vec<&str> = hrefs.filter(|href| self.has_href(href)).collect();
        if crm_ids.is_empty() && hrefs.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = store
            .sync_state()
            .pairs_touching(&self.profile, &self.collection, &crm_ids, &hrefs)
            .await?;
        rows.retain(|row| self.knows(&row.crm_id, &row.href));
        Ok(rows)
    }

    /// The keys, as stored, of the pairs `wanted` picks (R-SYNC-UID-2 asks
    /// for the few that share a UID, a record or an href with an item read),
    /// among these keys only: a pair saved since they were read is not one
    /// this pass knows (see [`Self::rows_touching`]).
    pub(crate) async fn matching(
        &self,
        store: &RunStores,
        wanted: impl Fn(&PairKey) -> bool,
    ) -> Result<Vec<PairKey>, SyncError> {
        let mut found = Vec::new();
        store
            .sync_state()
            .for_each_pair_key(&self.profile, &self.collection, |k| {
                if self.knows(&k.crm_id, &k.href) && wanted(&k) {
                    found.push(k);
                }
            })
            .await?;
        Ok(found)
    }
}

/// Which pairs a listing named, one bit each.
#[derive(Debug)]
pub(crate) struct Seen(Vec<u64>);

impl Seen {
    pub(crate) fn new(pairs: usize) -> Seen {
        Seen(vec![0; pairs.div_ceil(64)])
    }

    pub(crate) fn mark(&mut self, at: usize) {
        self.0[at / 64] |= 1 << (at % 64);
    }

    pub(crate) fn contains(&self, at: usize) -> bool {
        self.0[at / 64] & (1 << (at % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use crmsync_engine::{Origin, PairState};
    use crmsync_store::Store;
    use crmsync_store::status::PairRow;

    use super::{KeyDigest, PassKeys, Seen};
    use crate::stores::RunStores;

    fn keys(pairs: &[(&str, &str, &str)]) -> PassKeys {
        let mut keys = PassKeys::default();
        for (crm_id, href, etag) in pairs {
            keys.items.push((KeyDigest::of(href), KeyDigest::of(etag)));
            keys.records.push(KeyDigest::of(crm_id));
        }
        keys.seal();
        keys
    }

    /// R-SCALE-10: the digests answer the pass's questions as the strings did.
    #[test]
    fn r_scale_10_digest_keys_answer_as_the_strings() {
        let keys = keys(&[("c1", "b.vcf", "sha256-2"), ("c2", "a.vcf", "sha256-1")]);
        assert_eq!(keys.len(), 2);
        let same_etag = |href, etag| keys.position(href).is_some_and(|at| keys.same_etag_at(at, etag));
        assert!(same_etag("a.vcf", "sha256-1"));
        assert!(!same_etag("a.vcf", "sha256-2"));
        assert!(!same_etag("c.vcf", "sha256-1"));
        assert!(keys.has_href("b.vcf") && !keys.has_href("B.vcf") && !keys.has_href("b.vcf "));
        assert!(keys.has_record("c1") && keys.has_record("c2") && !keys.has_record("c3"));
        let (a, b) = (keys.position("a.vcf").unwrap(), keys.position("b.vcf").unwrap());
        assert_ne!(a, b);
        let mut seen = Seen::new(keys.len());
        seen.mark(b);
        assert!(seen.contains(b) && !seen.contains(a));
    }

    async fn migrated_store(dir: &tempfile::TempDir) -> Store {
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    fn pair(id: &str) -> PairRow {
        PairRow {
            id: id.into(),
            profile: "p".into(),
            collection: "contacts".into(),
            crm_id: format!("crm-{id}"),
            href: format!("{id}.vcf"),
            etag: format!("etag-{id}"),
            uid: Some(format!("uid-{id}")),
            crm_version: 1,
            origin: Origin::Crm,
            state: PairState::Live,
            base: Default::default(),
            facts: None,
            raw: None,
            updated_at: Utc::now(),
        }
    }

    /// R-SCALE-13: a pair saved after the pass read its keys (as
    /// `duplicates resolve` links without the profile's lease) is not
    /// handed to the pass as paired, while the pass lists its record and
    /// item as unpaired from the keys: one pair per record, never two.
    #[tokio::test]
    async fn r_scale_13_a_pair_saved_after_the_keys_is_not_read_as_touched() {
        let dir = tempfile::tempdir().unwrap();
        let store = migrated_store(&dir).await;
        let stores = RunStores::from(&store);
        stores.sync_state().save_pair(&pair("a")).await.unwrap();
        let keys = PassKeys::read(&stores, "p", "contacts").await.unwrap();
        // Saved between the key read and the touched read.
        stores.sync_state().save_pair(&pair("b")).await.unwrap();
        assert!(
            !keys.has_record("crm-b") && !keys.has_href("b.vcf"),
            "the pass sees b's record and item as unpaired"
        );

        let touched = keys
            .rows_touching(&stores, ["crm-a", "crm-b"].into_iter(), ["a.vcf", "b.vcf"].into_iter())
            .await
            .unwrap();
        assert_eq!(touched.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a"]);
        let sharing = keys.matching(&stores, |_| true).await.unwrap();
        assert_eq!(sharing.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["a"]);
    }

    /// R-SCALE-13: ids and hrefs without a pair are not asked for, so a
    /// first sync (no pairs) sends no pair query; the store is closed to
    /// prove that no query is sent.
    #[tokio::test]
    async fn r_scale_13_no_pair_query_for_ids_without_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = migrated_store(&dir).await;
        let stores = RunStores::from(&store);
        let keys = PassKeys::read(&stores, "p", "contacts").await.unwrap();
        store.close().await;
        let touched = keys
            .rows_touching(&stores, ["crm-a"].into_iter(), ["a.vcf"].into_iter())
            .await
            .unwrap();
        assert!(touched.is_empty());
    }
}
