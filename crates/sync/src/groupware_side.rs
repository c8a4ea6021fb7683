//! The groupware side of one collection: what changed since the sync token,
//! fetched and parsed. What cannot be read is quarantined with its error and
//! never taken for deleted (R-SAFE-4).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crmsync_connector::{CollectionId, Connector, Etag, Href, ItemMeta, SyncToken};
use crmsync_engine::GroupwareItem;
use crmsync_store::status::RETRY_ETAG;

use crate::codec::Codec;
use crate::directory::Needs;
use crate::error::SyncError;
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
    /// href → ETag of every pair of this collection, borrowed from the
    /// pass's pair keys (no second copy per pair, R-SCALE-10).
    pub paired: &'a HashMap<&'a str, &'a str>,
    /// Items quarantined earlier.
    pub known_bad: &'a KnownBad,
    /// Paired hrefs read even when unchanged (pairs with an open conflict).
    pub reread: &'a BTreeSet<String>,
}

pub(crate) async fn load(listing: Listing<'_>, codec: &Codec<'_>) -> Result<GroupwareState, SyncError> {
    let changes = listing
        .connector
        .changes(listing.collection, listing.token.as_ref())
        .await?;
    let mut state = GroupwareState {
        new_token: Some(changes.new_token.clone()),
        ..GroupwareState::default()
    };
    let mut to_fetch: Vec<ItemMeta> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for meta in &changes.changed {
        let href = meta.href.as_str();
        seen.insert(href);
        let same_as_pair = listing.paired.get(href).is_some_and(|e| *e == meta.etag.as_str());
        let still_bad = listing
            .known_bad
            .get(href)
            .filter(|(etag, _)| etag == meta.etag.as_str());
        if same_as_pair && !listing.reread.contains(href) {
            // Unchanged: nothing to read, and nothing kept (R-SCALE-10).
        } else if let Some((etag, why)) = still_bad {
            // Unchanged bytes fail the same way: keep the error that named
            // the problem, so status keeps saying what to fix (R-SAFE-4).
            state.quarantined.insert(href.to_string(), (etag.clone(), why.clone()));
        } else {
            to_fetch.push(meta.clone());
        }
    }
    if changes.complete {
        state.listed = Some(changes.changed.len());
        // A pair the listing left out is deleted only once a fetch says it
        // is gone: a listing may be bounded (Graph's calendarView lists only
        // the calendar window, R-GRAPH-6), so absent is not proof. The
        // fetch's `missing` marks the really deleted ones below.
        let mut absent: Vec<(&str, &str)> = listing
            .paired
            .iter()
            .filter(|(href, _)| !seen.contains(**href))
            .map(|(href, etag)| (*href, *etag))
            .collect();
        // In href order, so a run fetches the same way every time.
        absent.sort();
        to_fetch.extend(absent.into_iter().map(|(href, etag)| ItemMeta {
            href: Href::new(href),
            etag: Etag::new(etag),
        }));
    } else {
        state
            .deleted
            .extend(changes.deleted.iter().map(|h| h.as_str().to_string()));
        // Not in the delta: unchanged since the token, read all the same.
        for href in listing.reread {
            let etag = listing.paired.get(href.as_str());
            if let (false, false, Some(etag)) = (seen.contains(href.as_str()), state.deleted.contains(href), etag) {
                to_fetch.push(ItemMeta {
                    href: Href::new(href.clone()),
                    etag: Etag::new(*etag),
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
                && !seen.contains(href.as_str())
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
            if listing.paired.contains_key(href.as_str()) {
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
