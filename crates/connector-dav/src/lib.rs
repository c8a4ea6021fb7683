//! crmsync's connector for CardDAV (RFC 6352) and CalDAV (RFC 4791) servers.
//!
//! One [`DavConnector`] serves one account: it discovers the address book and
//! calendar homes from a single URL (RFC 6764 well-known URIs,
//! `current-user-principal`), lists changes with RFC 6578 `sync-collection`
//! (falling back to a PROPFIND ETag listing when a server has no or rejects a
//! token), fetches bodies with batched `multiget` REPORTs and writes only with
//! preconditions (`If-None-Match: *`, `If-Match`), as R-SAFE-2 requires.
//!
//! Why reqwest + quick-xml and not `libdav`: the connector must control every
//! status code it sees (a 412 means "token rejected" on one server and "item
//! changed" on a write, a 409 `no-uid-conflict` is a taken name, a first sync
//! must swallow 404 entries) and must return item bodies as raw bytes, never
//! re-encoded, so the runner can quarantine what it cannot parse (R-SAFE-4).
//! A dozen small request templates and one lenient multistatus reader do that
//! with crates the workspace already builds (reqwest with rustls), instead of
//! adding a hyper/tower client stack next to reqwest.
//!
//! What each known server does differently lives in [`quirks`], as data.

mod config;
mod connector;
mod discovery;
mod error;
mod href;
mod http;
mod items;
mod listing;
mod multistatus;
pub mod quirks;
mod requests;
mod retry;
pub mod write_window;
mod xml;

pub use config::{DavConfig, RetryConfig};

/// The multistatus reader, for the fuzz target `fuzz/fuzz_targets/dav_multistatus.rs`
/// only: any bytes a server sends must parse or be refused, never panic or hang.
/// Returns the number of entries and whether a sync token came with them.
#[doc(hidden)]
pub fn fuzz_multistatus(body: &[u8]) -> Result<(usize, bool), String> {
    let ms = multistatus::parse_multistatus(body)?;
    for entry in &ms.entries {
        // The accessors discovery and listing use on every entry.
        let _ = (entry.etag(), entry.is_collection(), entry.is_gone());
    }
    let _ = multistatus::error_href(body, "no-uid-conflict");
    Ok((ms.entries.len(), ms.sync_token.is_some()))
}
pub use connector::DavConnector;
pub use error::DavError;
pub use href::item_name_for_uid;
pub use quirks::{Quirks, ServerFamily};
