//! What connector calls return about items.

use crate::{ConnectorError, Etag, Href, SyncToken};

/// An item's address and version, without its body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemMeta {
    pub href: Href,
    pub etag: Etag,
}

/// An item's raw bytes as stored. Not necessarily valid UTF-8 or a valid
/// vCard/iCalendar: the caller parses and quarantines what it cannot read (R-SAFE-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedItem {
    pub href: Href,
    pub etag: Etag,
    pub body: Vec<u8>,
}

/// An item that exists but could not be fetched (e.g. a file without read
/// permission). The caller quarantines it; it must not be taken for deleted.
#[derive(Debug)]
pub struct ItemFailure {
    pub href: Href,
    pub error: ConnectorError,
}

/// Result of `get_many`: each asked-for href lands in exactly one list.
#[derive(Debug, Default)]
pub struct Fetched {
    pub found: Vec<FetchedItem>,
    /// Gone since it was listed (deleted concurrently). Not an error.
    pub missing: Vec<Href>,
    pub failed: Vec<ItemFailure>,
}

/// What changed in a collection since a sync token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSet {
    /// When `complete` is false: items created or modified since the token.
    /// When `complete` is true: every item the collection holds now.
    pub changed: Vec<ItemMeta>,
    /// Items deleted since the token. Always empty when `complete` is true:
    /// the caller infers deletions from what the full listing lacks.
    pub deleted: Vec<Href>,
    /// Hand this back on the next call.
    pub new_token: SyncToken,
    /// True when `changed` is a full listing rather than a delta (first sync,
    /// unknown or expired token, or a connector that can only list).
    pub complete: bool,
}
