//! CRM ids a pass holds for the whole collection, compact (R-SCALE-10):
//! the records a full pass defers to `stream.rs` (R-SYNC-STREAM-1) and the
//! live pairs' records whose participant status is brought in line
//! (R-CAL-3-STATUS). An id the store made (a UUID) is kept as its 16 bytes,
//! instead of about 72 as text; any other id as text. Handed back in
//! batches, in id order as text, each id once, as a sorted list of the
//! strings was.

/// The 16 bytes of `id` when it is a UUID in the store's spelling
/// (hyphenated, lower case); another spelling of the same UUID is another
/// id and stays text, so the compact forms are exact.
pub(crate) fn store_uuid(id: &str) -> Option<u128> {
    match uuid::Uuid::try_parse(id) {
        Ok(u) if u.hyphenated().to_string() == id => Some(u.as_u128()),
        _ => None,
    }
}

fn uuid_text(u: u128) -> String {
    uuid::Uuid::from_u128(u).hyphenated().to_string()
}

#[derive(Debug, Default)]
pub(crate) struct CompactIds {
    uuids: Vec<u128>,
    other: Vec<String>,
}

impl CompactIds {
    pub(crate) fn push(&mut self, id: &str) {
        match store_uuid(id) {
            Some(u) => self.uuids.push(u),
            None => self.other.push(id.to_string()),
        }
    }

    /// In id order, each once (a record edited while the pages were read
    /// is listed twice), without the spare capacity pushing left.
    pub(crate) fn seal(&mut self) {
        // The store's spelling sorts as its number: fixed-width lower-case
        // hex with hyphens at fixed places.
        self.uuids.sort_unstable();
        self.uuids.dedup();
        self.uuids.shrink_to_fit();
        self.other.sort();
        self.other.dedup();
        self.other.shrink_to_fit();
    }

    pub(crate) fn len(&self) -> usize {
        self.uuids.len() + self.other.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids in batches of `size` (the last may be smaller), in id order
    /// as text: the two sorted lists merged.
    pub(crate) fn batches(&self, size: usize) -> impl Iterator<Item = Vec<String>> + '_ {
        // The merge below is in order only over sorted lists.
        debug_assert!(
            self.uuids.is_sorted() && self.other.is_sorted(),
            "CompactIds::batches before seal"
        );
        let (mut u, mut o) = (0, 0);
        std::iter::from_fn(move || {
            let mut batch = Vec::with_capacity(size);
            while batch.len() < size {
                let next = match (self.uuids.get(u), self.other.get(o)) {
                    (Some(&id), Some(text)) => {
                        let id = uuid_text(id);
                        if id < *text {
                            u += 1;
                            id
                        } else {
                            o += 1;
                            text.clone()
                        }
                    }
                    (Some(&id), None) => {
                        u += 1;
                        uuid_text(id)
                    }
                    (None, Some(text)) => {
                        o += 1;
                        text.clone()
                    }
                    (None, None) => break,
                };
                batch.push(next);
            }
            (!batch.is_empty()).then_some(batch)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::CompactIds;

    /// R-SCALE-10: the compact list hands back what the sorted, deduplicated
    /// list of the ids as text would, in the same batches.
    #[test]
    fn r_scale_10_compact_ids_come_back_as_the_sorted_text() {
        let ids = [
            "f0b6f2a5-3c1e-4a8e-9a53-8f7c2d1e4b60",
            "0b6f2a52-3c1e-4a8e-9a53-8f7c2d1e4b60",
            "c-1",
            "0B6F2A52-3C1E-4A8E-9A53-8F7C2D1E4B60",
            "0b6f2a52-3c1e-4a8e-9a53-8f7c2d1e4b60",
            "1",
            "a",
            "0b6f2a52-3c1e-4a8e-9a53-8f7c2d1e4b6",
        ];
        let mut deferred = CompactIds::default();
        for id in ids {
            deferred.push(id);
        }
        deferred.seal();
        let mut text: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        text.sort();
        text.dedup();
        assert_eq!(deferred.len(), text.len());
        let batches: Vec<Vec<String>> = deferred.batches(3).collect();
        let expected: Vec<Vec<String>> = text.chunks(3).map(<[String]>::to_vec).collect();
        assert_eq!(batches, expected);
        assert_eq!((deferred.uuids.len(), deferred.other.len()), (2, 5));
    }
}
