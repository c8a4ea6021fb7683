//! "Is an item with this UID already in the folder?" answered without asking
//! Graph, where that is safe (R-GRAPH-5, R-SAFE-2).
//!
//! A create must not make a second item with a UID the folder already
//! holds (a create whose reply was lost, a run that crashed before it
//! recorded its write). Asking Graph with `$filter` before every POST costs
//! a request per create and makes a first sync twice as many requests as
//! creates. Instead the connector remembers, per folder, what the pass's
//! own *complete* listing showed:
//!
//! - `changes` without a usable token lists every item of the folder
//!   (`complete`): the folder's ids are noted as *unread*;
//! - `get_many` reads items with crmsync's UID property (`$expand`): each
//!   item read is no longer unread, and its UID is noted;
//! - every create this connector sent is noted by UID as soon as it may
//!   have landed (sent, whatever the answer), so its own writes count too.
//!
//! A UID is *surely absent* only when the folder's last listing was
//! complete, every item it listed has been read, and the UID is not noted.
//! Everything else (an incremental listing, an item the runner did not
//! fetch, a UID that is noted) falls back to `$filter`, which answers
//! exactly; so a hash collision costs a request, never a duplicate.
//!
//! Why that is safe: an item carries crmsync's UID property only if crmsync
//! wrote it. Every such item that existed when the folder was listed was in
//! the listing and was read; every one made since was made by this
//! connector (one run per profile holds the lease, R-SCHED-4) and noted
//! when it was sent. A later `changes` that is not complete (a delta round
//! cannot show items whose etag the runner already knows) clears the
//! knowledge, so creates in incremental passes are checked with `$filter`.
//! A calendar's complete listing is not complete: `calendarView/delta`
//! shows only the calendar window (R-GRAPH-6), so crmsync's events beyond it
//! are missing. There the first create that needs proof scans the whole
//! calendar for crmsync's UIDs once (`events?$select=id&$expand=` the UID
//! property, paged) instead.
//! Only hashes are kept (8 bytes a UID or id), not items.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct KnownUids {
    folders: Mutex<HashMap<String, FolderUids>>,
}

#[derive(Default)]
struct FolderUids {
    /// The last listing of the folder was complete.
    complete: bool,
    /// The last listing covered only part of a complete folder (a
    /// calendar's window): a scan of every item's UID may complete it.
    scan_wanted: bool,
    /// Ids of that listing not read yet (hashed).
    unread: HashSet<u64>,
    /// crmsync UIDs seen or sent (hashed); never shrinks, a stale entry only
    /// costs a `$filter`.
    uids: HashSet<u64>,
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl KnownUids {
    fn with<T>(&self, folder: &str, f: impl FnOnce(&mut FolderUids) -> T) -> T {
        let mut folders = self.folders.lock().expect("lock");
        f(folders.entry(folder.to_string()).or_default())
    }

    /// `changes` listed `ids`: all of the folder's items if `complete`, else
    /// only what changed, which says nothing about the rest.
    pub(crate) fn listed<'a>(&self, folder: &str, complete: bool, ids: impl Iterator<Item = &'a str>) {
        self.with(folder, |f| {
            f.complete = complete;
            f.scan_wanted = false;
            f.unread = if complete {
                ids.map(hash).collect()
            } else {
                HashSet::new()
            };
        });
    }

    /// `changes` gave a complete listing of a calendar, which shows only
    /// the calendar window (R-GRAPH-6): events outside it, crmsync's
    /// included, are not in it. Only a scan of the whole calendar
    /// ([`KnownUids::scanned`]) completes what is known.
    pub(crate) fn listed_window(&self, folder: &str) {
        self.with(folder, |f| {
            f.complete = false;
            f.scan_wanted = true;
            f.unread = HashSet::new();
        });
    }

    /// A scan of the folder would complete what is known (once per listing).
    pub(crate) fn scan_wanted(&self, folder: &str) -> bool {
        self.with(folder, |f| f.scan_wanted && !f.complete)
    }

    /// A scan failed: the creates of this listing ask Graph one by one
    /// (`$filter`, safe as ever) instead of each scanning again.
    pub(crate) fn scan_failed(&self, folder: &str) {
        self.with(folder, |f| f.scan_wanted = false);
    }

    /// A scan read the crmsync UID of every item of the folder.
    pub(crate) fn scanned<'a>(&self, folder: &str, uids: impl Iterator<Item = &'a str>) {
        self.with(folder, |f| {
            f.uids.extend(uids.map(hash));
            f.complete = true;
            f.scan_wanted = false;
            f.unread = HashSet::new();
        });
    }

    /// `get_many` read item `id`, whose crmsync UID is `uid` (`None`: an
    /// item made elsewhere, or gone).
    pub(crate) fn read(&self, folder: &str, id: &str, uid: Option<&str>) {
        self.with(folder, |f| {
            f.unread.remove(&hash(id));
            if let Some(uid) = uid {
                f.uids.insert(hash(uid));
            }
        });
    }

    /// A create of `uid` was sent: it may exist from now on.
    pub(crate) fn sent(&self, folder: &str, uid: &str) {
        self.with(folder, |f| {
            f.uids.insert(hash(uid));
        });
    }

    /// True only when the folder surely holds no item with `uid`.
    pub(crate) fn surely_absent(&self, folder: &str, uid: &str) -> bool {
        self.with(folder, |f| {
            f.complete && f.unread.is_empty() && !f.uids.contains(&hash(uid))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_graph_5_only_a_complete_fully_read_listing_answers_absent() {
        let known = KnownUids::default();
        assert!(!known.surely_absent("f", "u1"), "never listed: ask Graph");

        known.listed("f", true, ["a", "b"].into_iter());
        assert!(!known.surely_absent("f", "u1"), "listed items not read yet");
        known.read("f", "a", Some("u-a"));
        known.read("f", "b", None);
        assert!(known.surely_absent("f", "u1"));
        assert!(!known.surely_absent("f", "u-a"), "a listed item holds it");
        assert!(!known.surely_absent("g", "u1"), "another folder knows nothing");

        known.sent("f", "u1");
        assert!(!known.surely_absent("f", "u1"), "sent by this connector");

        known.listed("f", false, ["c"].into_iter());
        assert!(!known.surely_absent("f", "u2"), "an incremental listing clears it");
        known.listed("f", true, std::iter::empty());
        assert!(known.surely_absent("f", "u2"));
        assert!(!known.surely_absent("f", "u-a"), "what was seen stays noted");
    }

    #[test]
    fn r_graph_5_a_calendar_window_proves_nothing_until_a_scan() {
        let known = KnownUids::default();
        known.listed_window("cal");
        assert!(
            !known.surely_absent("cal", "u1"),
            "events outside the window are not listed"
        );
        assert!(known.scan_wanted("cal"));
        known.scan_failed("cal");
        assert!(
            !known.scan_wanted("cal"),
            "a failed scan is not repeated by every create"
        );
        assert!(!known.surely_absent("cal", "u1"), "and proves nothing");
        known.listed_window("cal");
        assert!(known.scan_wanted("cal"));
        known.scanned("cal", ["far-future"].into_iter());
        assert!(!known.scan_wanted("cal"));
        assert!(known.surely_absent("cal", "u1"));
        assert!(!known.surely_absent("cal", "far-future"));
        known.listed("cal", false, std::iter::empty());
        assert!(!known.scan_wanted("cal"), "an incremental pass asks per create");
        assert!(!known.surely_absent("cal", "u1"));
    }
}
