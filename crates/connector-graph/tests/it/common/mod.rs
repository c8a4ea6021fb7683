//! A Graph connector pointed at the testkit's Graph server.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crmsync_graph::{GraphConfig, GraphConnector, ManualClock};
use crmsync_testkit::GraphServer;

pub fn config(server: &GraphServer) -> GraphConfig {
    server.config()
}

/// A connector on a manual clock that starts at a fixed day, so windows and
/// token expiry are the same on every run.
pub fn connector(server: &GraphServer) -> (GraphConnector, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
    ));
    let connector = GraphConnector::with_clock(config(server), clock.clone()).expect("valid config");
    (connector, clock)
}
