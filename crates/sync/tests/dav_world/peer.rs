//! Real Radicale and Xandikos servers for the end-to-end tests, started by
//! `crmsync-testkit` (free ports on 127.0.0.1, throw-away storage, killed by
//! the process id it started). This layer adds what only these tests know:
//! the connector config a profile would have.

use std::ops::Deref;

use crmsync_dav::{DavConfig, RetryConfig};

pub use crmsync_testkit::{PASSWORD, PeerKind, USER, tool};

/// A running peer (see [`crmsync_testkit::Peer`]).
pub struct Peer(crmsync_testkit::Peer);

impl Peer {
    pub fn start(kind: PeerKind) -> Peer {
        Peer(crmsync_testkit::Peer::start(kind))
    }

    /// The connector config a profile would have, with quick retries.
    pub fn config(&self) -> DavConfig {
        DavConfig {
            retry: RetryConfig {
                max_retries: 2,
                base_delay_ms: 20,
                max_delay_ms: 100,
                max_retry_after_secs: 1,
            },
            // Only turns a hang into a failure: a big PUT to a Python server on a
            // loaded 2-core machine took over 20 s once, and failed a good run.
            timeout_secs: 300,
            ..DavConfig::new(self.url()).with_basic(USER, PASSWORD)
        }
    }
}

impl Deref for Peer {
    type Target = crmsync_testkit::Peer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
