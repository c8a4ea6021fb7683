//! The state of one in-memory collection: items plus a change log, so `changes`
//! can answer real deltas the way an RFC 6578 server does.

use std::collections::{BTreeMap, BTreeSet};

use crate::{ChangeSet, Collection, Etag, Href, ItemMeta, SyncToken};

#[derive(Clone, Debug)]
pub(crate) struct StoredItem {
    pub etag: Etag,
    pub body: Vec<u8>,
}

pub(crate) struct MemCollection {
    pub info: Collection,
    pub items: BTreeMap<Href, StoredItem>,
    /// (sequence number, href) of every write and delete, oldest first.
    log: Vec<(u64, Href)>,
    seq: u64,
    /// Tokens older than this are expired and get a complete listing.
    floor: u64,
    /// Distinguishes this collection's tokens from those of any other instance,
    /// so a token from elsewhere is "unknown", never misread as a position.
    epoch: u64,
}

impl MemCollection {
    pub fn new(info: Collection, epoch: u64) -> Self {
        Self {
            info,
            items: BTreeMap::new(),
            log: Vec::new(),
            seq: 0,
            floor: 0,
            epoch,
        }
    }

    /// Records that `href` was written or deleted.
    pub fn touch(&mut self, href: &Href) {
        self.seq += 1;
        self.log.push((self.seq, href.clone()));
    }

    /// Forgets the change log, as servers do after a while: every older token
    /// now gets a complete listing.
    pub fn expire_tokens(&mut self) {
        self.log.clear();
        self.floor = self.seq;
    }

    fn token(&self) -> SyncToken {
        SyncToken::new(format!("mem-{}-{}", self.epoch, self.seq))
    }

    fn position(&self, token: &SyncToken) -> Option<u64> {
        let rest = token.as_str().strip_prefix("mem-")?;
        let (epoch, seq) = rest.split_once('-')?;
        let (epoch, seq) = (epoch.parse::<u64>().ok()?, seq.parse::<u64>().ok()?);
        (epoch == self.epoch && seq >= self.floor && seq <= self.seq).then_some(seq)
    }

    pub fn changes(&self, since: Option<&SyncToken>) -> ChangeSet {
        let new_token = self.token();
        let Some(from) = since.and_then(|t| self.position(t)) else {
            return ChangeSet {
                changed: self.listing(),
                deleted: Vec::new(),
                new_token,
                complete: true,
            };
        };
        let touched: BTreeSet<&Href> = self
            .log
            .iter()
            .filter(|(seq, _)| *seq > from)
            .map(|(_, href)| href)
            .collect();
        let mut changed = Vec::new();
        let mut deleted = Vec::new();
        for href in touched {
            match self.items.get(href) {
                Some(item) => changed.push(ItemMeta {
                    href: href.clone(),
                    etag: item.etag.clone(),
                }),
                None => deleted.push(href.clone()),
            }
        }
        ChangeSet {
            changed,
            deleted,
            new_token,
            complete: false,
        }
    }

    fn listing(&self) -> Vec<ItemMeta> {
        self.items
            .iter()
            .map(|(href, item)| ItemMeta {
                href: href.clone(),
                etag: item.etag.clone(),
            })
            .collect()
    }
}

/// An injective, readable href for a suggested name: characters outside a small
/// safe set become `%XX`, so two different UIDs never share an href.
pub(crate) fn href_for(suggested_name: &str, extension: &str) -> Href {
    let mut name = String::new();
    for byte in suggested_name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'@') {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    Href::new(format!("{name}.{extension}"))
}
