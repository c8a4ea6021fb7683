//! Real Radicale and Xandikos servers for the end-to-end tests, with the
//! connector config a profile would have: `crmsync_testkit::Peer` (feature
//! `dav`; free ports on 127.0.0.1, throw-away storage, killed by the process
//! id it started).

pub use crmsync_testkit::{PASSWORD, Peer, PeerKind, USER, tool};
