//! The mail side of a connector (R-MAP-3, SPEC §10): what the runner needs to
//! track messages of a mailbox (IMAP, later Graph). Mail is read, never
//! written, apart from the "tracked" keyword (R-TRACK-9); deletes never travel
//! (R-DEL-12). Folders are polled cheaply: a position (UIDVALIDITY,
//! HIGHESTMODSEQ, UIDNEXT) says where the last poll stood.
//!
//! UIDs and UIDVALIDITY are `u64` here although IMAP's are 32-bit (RFC 9051
//! §2.3.1.1): a source without IMAP's numbering (Graph) derives them from its
//! own ids, and 32 bits are too few to keep those apart (R-GRAPH-42). Every
//! value a source gives fits the store's signed 64-bit columns (at most
//! `i64::MAX`); a source that takes UIDs back (IMAP) refuses one outside
//! its own range rather than truncating it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ConnectorError;

/// Where a folder stood after a poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderPosition {
    pub uid_validity: u64,
    /// CONDSTORE's HIGHESTMODSEQ; `None` when the server has no CONDSTORE.
    pub highest_modseq: Option<u64>,
    pub uid_next: u64,
    /// A source's own resume point (Graph: the folder's `@odata.deltaLink`);
    /// `None` for IMAP, whose position is the three numbers above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A message's UID and its flags and keywords (`\Seen`, `$CRM`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFlags {
    pub uid: u64,
    pub flags: Vec<String>,
    pub modseq: Option<u64>,
}

impl MessageFlags {
    /// Has the keyword (IMAP keywords compare case-insensitively).
    pub fn has(&self, keyword: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(keyword))
    }
}

/// What one poll of one folder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderPoll {
    pub position: FolderPosition,
    /// The folder was listed in full: no earlier position, or its
    /// UIDVALIDITY changed (every UID the caller knew is void).
    pub full: bool,
    /// Nothing changed since the given position (one round trip).
    pub unchanged: bool,
    /// New messages and those whose flags changed (all, when `full`).
    pub changed: Vec<MessageFlags>,
    /// Every UID in the folder now; `None` when `unchanged`, or when the
    /// source reports what left instead (`removed`).
    pub present: Option<Vec<u64>>,
    /// Messages that left the folder (moved or deleted) since the position,
    /// for a source that reports them (Graph delta's `@removed` rows) rather
    /// than listing what is `present`; empty for IMAP.
    pub removed: Vec<u64>,
}

/// The thread headers and addresses of a message, for the reply and
/// known-contact triggers and the never-track list (R-TRACK-4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadHeaders {
    pub uid: u64,
    /// As the message has them (the caller normalises).
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The From, To and Cc addresses, as written.
    pub addresses: Vec<String>,
}

/// A whole message as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub uid: u64,
    pub flags: Vec<String>,
    /// The server's arrival time (IMAP INTERNALDATE), unix seconds.
    pub received_at: Option<i64>,
    /// RFC 5322 bytes.
    pub body: Vec<u8>,
}

/// The answer to a conditional keyword write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkOutcome {
    Marked,
    /// The message changed since `modseq` (UNCHANGEDSINCE failed) or is gone;
    /// the next poll sees it again.
    Changed,
}

#[async_trait]
pub trait MailSource: Send + Sync {
    /// Creates the folder when it is missing (the tracking folder, R-TRACK-4).
    async fn ensure_folder(&self, folder: &str) -> Result<(), ConnectorError>;

    /// Where `folder` stands and what changed since `since`. A folder with
    /// another UIDVALIDITY than `since` is listed in full.
    async fn poll(&self, folder: &str, since: Option<&FolderPosition>) -> Result<FolderPoll, ConnectorError>;

    /// Message-ID, In-Reply-To and References of `uids`.
    async fn thread_headers(&self, folder: &str, uids: &[u64]) -> Result<Vec<ThreadHeaders>, ConnectorError>;

    /// The whole messages `uids` (those that are gone are left out).
    async fn fetch(&self, folder: &str, uids: &[u64]) -> Result<Vec<RawMessage>, ConnectorError>;

    /// Adds `keyword` to the message unless it changed since `modseq`
    /// (CONDSTORE UNCHANGEDSINCE; unconditional where the server lacks it,
    /// which is safe: adding a keyword is idempotent).
    async fn add_keyword(
        &self,
        folder: &str,
        uid: u64,
        modseq: Option<u64>,
        keyword: &str,
    ) -> Result<MarkOutcome, ConnectorError>;

    /// [`MailSource::add_keyword`] for several messages of one poll, each
    /// given as (UID, MODSEQ read); answers the UIDs now marked. A source
    /// may send one command for all: a message changed since the poll has
    /// a MODSEQ above every one read then, so one UNCHANGEDSINCE of the
    /// highest read holds back exactly the changed ones.
    async fn add_keywords(
        &self,
        folder: &str,
        marks: &[(u64, Option<u64>)],
        keyword: &str,
    ) -> Result<Vec<u64>, ConnectorError> {
        let mut marked = Vec::new();
        for &(uid, modseq) in marks {
            if self.add_keyword(folder, uid, modseq, keyword).await? == MarkOutcome::Marked {
                marked.push(uid);
            }
        }
        Ok(marked)
    }

    /// Ends the session (logs out); the next call connects again.
    async fn close(&self);
}

/// What a [`MailWatch`] wait found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailWake {
    /// The folder may have changed: new or expunged messages, changed
    /// flags, or a new connection (anything may have changed meanwhile).
    Changed,
    /// Nothing happened within the wait.
    Quiet,
}

/// Push from the mailbox: one folder watched over a connection of its own
/// (IMAP IDLE), so a profile runs when its mail changes instead of at its
/// next poll. The scheduler holds one per watched folder.
#[async_trait]
pub trait MailWatch: Send {
    /// Waits up to `max_wait` for the folder to change. The first wait, and
    /// the first after a lost connection, connects and answers `Changed`
    /// at once. A lost connection is an error; the next wait connects again.
    async fn wait(&mut self, max_wait: std::time::Duration) -> Result<MailWake, ConnectorError>;

    /// Ends the connection; the next wait connects again.
    async fn close(&mut self);
}
