//! The DAV connector's view of a [`Peer`] (feature `dav`): the config a
//! profile on it would have, for the tests that drive crmsync's own DAV
//! connector (the connector's suite, the runner's end-to-end tests).

use crmsync_dav::{DavConfig, DavConnector, RetryConfig, ServerFamily};

use crate::peer::{PASSWORD, Peer, PeerKind, USER};

impl PeerKind {
    /// The server family this peer is, as the connector names it.
    pub fn family(self) -> ServerFamily {
        match self {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => ServerFamily::Radicale,
            PeerKind::Xandikos => ServerFamily::Xandikos,
        }
    }
}

impl Peer {
    /// The connector config a profile would have, with the right credentials
    /// and quick retries (tests must not wait).
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

    pub fn connector(&self) -> DavConnector {
        DavConnector::new(&self.config()).expect("a DAV connector for the peer")
    }
}
