//! Test harness: real Radicale and Xandikos servers on free ports of
//! 127.0.0.1 with throw-away storage and the connector config for them
//! (`crmsync_testkit::Peer`, feature `dav`) and a raw HTTP client for them
//! (`Peer::raw`).
#![allow(dead_code)]

#[macro_use]
pub mod suite;

use crmsync_dav::ServerFamily;

pub use crmsync_testkit::{PASSWORD, Peer, PeerKind, USER};

/// The server family a peer kind is, as the connector names it.
pub fn family(kind: PeerKind) -> ServerFamily {
    kind.family()
}
