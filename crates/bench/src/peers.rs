//! The real DAV servers the benchmarks run against. Starting them is
//! `crmsync_testkit::Peer`'s job (the one home of what each peer needs,
//! PEERS.md); this adds the connector config a user gets and turns a peer
//! that does not come up into a reported, transient [`BenchError`].

use std::ops::Deref;
use std::path::PathBuf;

use crmsync_dav::{DavConfig, DavConnector};

use crate::error::BenchError;

pub use crmsync_testkit::{PASSWORD, PeerKind, USER};

/// Finds a peer program on PATH or in the repo's venv (`scripts/test-env.sh`).
pub fn tool(name: &str) -> Result<PathBuf, BenchError> {
    crmsync_testkit::find_tool(name).map_err(|e| BenchError::Peer {
        tool: name.to_owned(),
        message: e.to_string(),
    })
}

/// A running server with empty storage. Dropping it kills the process.
pub struct Peer(crmsync_testkit::Peer);

impl Peer {
    pub fn start(kind: PeerKind) -> Result<Peer, BenchError> {
        crmsync_testkit::Peer::try_start(kind)
            .map(Peer)
            .map_err(|e| BenchError::Peer {
                tool: kind.name().to_owned(),
                message: e.to_string(),
            })
    }

    /// crmsync's connector config for this server, with the defaults a user
    /// gets (concurrency included), so the raw client can match it.
    pub fn config(&self) -> DavConfig {
        DavConfig::new(self.url()).with_basic(USER, PASSWORD)
    }

    pub fn connector(&self) -> Result<DavConnector, BenchError> {
        Ok(DavConnector::new(&self.config())?)
    }
}

impl Deref for Peer {
    type Target = crmsync_testkit::Peer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
