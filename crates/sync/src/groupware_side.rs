//! The groupware side of one collection: what changed since the sync token,
//! fetched and parsed. What cannot be read is quarantined with its error and
//! never taken for deleted (R-SAFE-4).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crmsync_connector::{ChangeSet, CollectionId, Connector, Etag, Href, ItemMeta, SyncToken};
use crmsync_engine::GroupwareItem;
use crmsync_store::status::RETRY_ETAG;

use crate::codec::Codec;
use crate::directory::Needs;
use crate::error::SyncError;
use crate::pass_keys::{PassKeys, Seen};
use crate::stores::RunStores;

/// A groupware item read this run, with what the runner needs to rewrite it.
#[derive(Debug, Clone)]
pub(crate) struct FetchedState {
    pub item: GroupwareItem,
    pub uid: String,
    pub raw: String,
}

#[derive(Debug, Default)]
pub(crate) struct GroupwareState {
    pub items: HashMap<String, FetchedState>,
    pub deleted: BTreeSet<String>,
    /// Items that could not be read this run: href → (ETag, error).
    pub quarantined: BTreeMap<String, (String, String)>,
    /// Quarantined items a retry asked for (R-WEB-14) that the server no
    /// longer has: their quarantine rows go.
    pub vanished: BTreeSet<String>,
    pub new_token: Option<SyncToken>,
    /// How many items the collection holds, when the listing was complete.
    pub listed: Option<usize>,
}

/// Items quarantined earlier: href → (ETag, the error that quarantined it).
pub(crate) type KnownBad = HashMap<String, (String, String)>;

/// How many items one `get_many` asks for: large enough to amortise a
/// round trip (a CalDAV multiget), small enough to bound memory.
const FETCH_BATCH: usize = 100;

pub(crate) struct Listing<'a> {
    pub connector: &'a dyn Connector,
    pub collection: &'a CollectionId,
    pub token: Option<SyncToken>,
    /// The changes since `token`, already asked for at the run's start
    /// (R-SYNC-PERF-5): used instead of asking again.
    pub early: Option<ChangeSet>,
    /// The href and ETag of every pair of this collection, as digests
    /// (R-SCALE-10).
    pub paired: &'a PassKeys,
    /// Where the strings of the pairs a complete listing left out are read back.
    pub store: &'a RunStores,
    /// Items quarantined earlier.
    pub known_bad: &'a KnownBad,
    /// Paired hrefs read even when unchanged (pairs with an open conflict),
    /// with their pairs' ETags.
    pub reread: &'a BTreeMap<String, String>,
}

/// What a pass keeps of a listing as it goes by: the items to read, the
/// verdicts that stand, and which pairs and quarantined items it named
/// (a bit per pair, not a set of every href, R-SCALE-10).
struct Scan<'l> {
    listing: &'l Listing<'l>,
    to_fetch: Vec<ItemMeta>,
    quarantined: BTreeMap<String, (String, String)>,
    seen: Seen,
    /// Quarantined hrefs the listing named: the only unpaired ones asked about.
    seen_bad: BTreeSet<String>,
    listed: usize,
}

impl<'l> Scan<'l> {
    fn new(listing: &'l Listing<'l>) -> Self {
        Scan {
            listing,
            to_fetch: Vec::new(),
            quarantined: BTreeMap::new(),
            seen: Seen::new(listing.paired.len()),
            seen_bad: BTreeSet::new(),
            listed: 0,
        }
    }

    fn add(&mut self, meta: ItemMeta) {
        let listing = self.listing;
        self.listed += 1;
        let href = meta.href.as_str();
        let at = listing.paired.position(href);
        if let Some(at) = at {
            self.seen.mark(at);
        }
        if listing.known_bad.contains_key(href) {
            self.seen_bad.insert(href.to_string());
        }
        let same_as_pair = at.is_some_and(|at| listing.paired.same_etag_at(at, meta.etag.as_str()));
        let still_bad = listing
            .known_bad
            .get(href)
            .filter(|(etag, _)| etag == meta.etag.as_str());
        if same_as_pair && !listing.reread.contains_key(href) {
            // Unchanged: nothing to read, and nothing kept (R-SCALE-10).
        } else if let Some((etag, why)) = still_bad {
            // Unchanged bytes fail the same way: keep the error that named
            // the problem, so status keeps saying what to fix (R-SAFE-4).
            self.quarantined.insert(href.to_string(), (etag.clone(), why.clone()));
        } else {
            self.to_fetch.push(meta);
        }
    }
}

pub(crate) async fn load(mut listing: Listing<'_>, codec: &Codec<'_>) -> Result<GroupwareState, SyncError> {
    let early = listing.early.take();
    let mut scan = Scan::new(&listing);
    let mut changes = match early {
        // An early complete listing holds its (bounded) items whole.
        Some(mut changes) => {
            if changes.complete {
                for meta in std::mem::take(&mut changes.changed) {
                    scan.add(meta);
                }
            }
            changes
        }
        // A complete listing comes by page and is kept only as `scan` keeps it.
        None => {
            listing
                .connector
                .changes_paged(listing.collection, listing.token.as_ref(), &mut |page| {
                    for meta in page {
                        scan.add(meta);
                    }
                })
                .await?
        }
    };
    if !changes.complete {
        // A delta: what came by page (if anything) is void.
        scan = Scan::new(&listing);
        for meta in std::mem::take(&mut changes.changed) {
            scan.add(meta);
        }
    }
    let Scan {
        mut to_fetch,
        quarantined,
        seen,
        seen_bad,
        listed,
        ..
    } = scan;
    let mut state = GroupwareState {
        new_token: Some(changes.new_token.clone()),
        quarantined,
        ..GroupwareState::default()
    };
    if changes.complete {
        state.listed = Some(listed);
        // A pair the listing left out is deleted only once a fetch says it
        // is gone: a listing may be bounded (Graph's calendarView lists only
        // the calendar window, R-GRAPH-6), so absent is not proof. The
        // fetch's `missing` marks the really deleted ones below.
        // Read back as strings only when some are absent, in href order, so
        // a run fetches the same way every time.
        let absent = if (0..listing.paired.len()).all(|at| seen.contains(at)) {
            Vec::new()
        } else {
            listing
                .paired
                .hrefs_and_etags(listing.store, |at| !seen.contains(at))
                .await?
        };
        to_fetch.extend(absent.into_iter().map(|(href, etag)| ItemMeta {
            href: Href::new(href),
            etag: Etag::new(etag),
        }));
    } else {
        state
            .deleted
            .extend(changes.deleted.iter().map(|h| h.as_str().to_string()));
        // Not in the delta: unchanged since the token, read all the same.
        for (href, etag) in listing.reread {
            let listed = listing.paired.position(href).is_some_and(|at| seen.contains(at));
            if !listed && !state.deleted.contains(href) {
                to_fetch.push(ItemMeta {
                    href: Href::new(href.clone()),
                    etag: Etag::new(etag.clone()),
                });
            }
        }
    }
    // R-WEB-14: a quarantined item a user asked to retry is read again
    // although the listing does not name it (a delta leaves out what did not
    // change; a bounded listing may leave it out too): the fetch finds it,
    // or says it is gone.
    let fetching: BTreeSet<&str> = to_fetch.iter().map(|m| m.href.as_str()).collect();
    let mut retried: Vec<String> = listing
        .known_bad
        .iter()
        .filter(|(href, (etag, _))| {
            etag == RETRY_ETAG
                && !seen_bad.contains(href.as_str())
                && !fetching.contains(href.as_str())
                && !state.deleted.contains(*href)
        })
        .map(|(href, _)| href.clone())
        .collect();
    retried.sort();
    to_fetch.extend(retried.into_iter().map(|href| ItemMeta {
        href: Href::new(href),
        etag: Etag::new(RETRY_ETAG),
    }));
    if !to_fetch.is_empty() {
        // Parsing asks only for the profile user's own address (R-CAL-7);
        // who the attendees are is looked up when they are mapped (R-SCALE-8).
        codec.prepare(Needs::default()).await?;
    }
    for batch in to_fetch.chunks(FETCH_BATCH) {
        let hrefs: Vec<Href> = batch.iter().map(|m| m.href.clone()).collect();
        let fetched = listing.connector.get_many(listing.collection, &hrefs).await?;
        for item in fetched.found {
            let href = item.href.as_str().to_string();
            match codec.parse(&item.body) {
                Ok(parsed) => {
                    let raw = String::from_utf8(item.body).expect("a parsed item is UTF-8");
                    state.items.insert(
                        href.clone(),
                        FetchedState {
                            item: GroupwareItem {
                                href,
                                etag: item.etag.as_str().to_string(),
                                fields: parsed.fields,
                                last_modified: parsed.last_modified,
                            },
                            uid: parsed.uid,
                            raw,
                        },
                    );
                }
                Err(e) => {
                    state
                        .quarantined
                        .insert(href, (item.etag.as_str().to_string(), e.to_string()));
                }
            }
        }
        // Gone between the listing and the fetch: deleted concurrently.
        for href in fetched.missing {
            if listing.paired.has_href(href.as_str()) {
                state.deleted.insert(href.as_str().to_string());
            } else if listing.known_bad.contains_key(href.as_str()) {
                state.vanished.insert(href.as_str().to_string());
            }
        }
        // Exists but unreadable (e.g. permissions): quarantine, never delete.
        for failure in fetched.failed {
            let etag = batch
                .iter()
                .find(|m| m.href == failure.href)
                .map(|m| m.etag.as_str().to_string());
            state.quarantined.insert(
                failure.href.as_str().to_string(),
                (etag.unwrap_or_default(), failure.error.to_string()),
            );
        }
    }
    Ok(state)
}

/// Records this run's quarantine verdicts: new ones in, repaired ones out.
pub(crate) async fn save_quarantine(
    store: &RunStores,
    profile: &str,
    collection: &str,
    state: &GroupwareState,
    known_bad: &KnownBad,
) -> Result<(), SyncError> {
    for (href, verdict) in &state.quarantined {
        // An unchanged verdict keeps its row, and with it when it was first made.
        if known_bad.get(href) != Some(verdict) {
            let (etag, error) = verdict;
            store
                .sync_state()
                .quarantine(profile, collection, href, etag, error)
                .await?;
        }
    }
    for href in known_bad.keys() {
        if state.items.contains_key(href) || state.deleted.contains(href) || state.vanished.contains(href) {
            store.sync_state().release_quarantine(profile, collection, href).await?;
        }
    }
    Ok(())
}
