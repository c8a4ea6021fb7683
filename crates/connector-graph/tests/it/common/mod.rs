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

/// The variables that point the live suite at a real tenant (R-GRAPH-19).
pub const LIVE_VARS: [&str; 4] = [
    "CRMSYNC_GRAPH_TEST_TENANT",
    "CRMSYNC_GRAPH_TEST_CLIENT_ID",
    "CRMSYNC_GRAPH_TEST_CLIENT_SECRET",
    "CRMSYNC_GRAPH_TEST_MAILBOX",
];

/// Where a shared scenario runs (R-GRAPH-19): the test server, whose
/// counters and switches a scenario may also check, or a real tenant, where
/// it sees only what the connector sees.
pub enum Endpoint {
    TestServer(GraphServer),
    Live(Box<GraphConfig>),
}

impl Endpoint {
    pub async fn test_server() -> Endpoint {
        Endpoint::TestServer(GraphServer::start().await.expect("the Graph test server"))
    }

    /// The tenant `CRMSYNC_GRAPH_TEST_*` name; a live test without them
    /// fails saying so (scripts/test-graph-live runs them only when set).
    pub fn live() -> Endpoint {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| panic!("live tenant: set {} ({name} is missing)", LIVE_VARS.join(", ")))
        };
        Endpoint::Live(Box::new(GraphConfig::new(
            var(LIVE_VARS[0]),
            var(LIVE_VARS[3]),
            var(LIVE_VARS[1]),
            var(LIVE_VARS[2]),
        )))
    }

    /// The test server's counters and switches; `None` on a live tenant.
    pub fn server(&self) -> Option<&GraphServer> {
        match self {
            Endpoint::TestServer(server) => Some(server),
            Endpoint::Live(_) => None,
        }
    }

    /// A connector for the endpoint: on the test server with a manual clock
    /// (no test waits), on a tenant with the real one (Retry-After is real).
    pub fn connector(&self) -> GraphConnector {
        match self {
            Endpoint::TestServer(server) => connector(server).0,
            Endpoint::Live(config) => GraphConnector::new((**config).clone()).expect("valid live config"),
        }
    }

    /// A folder name no other run uses: a tenant keeps what earlier runs made.
    pub fn folder_name(&self, base: &str) -> String {
        match self {
            Endpoint::TestServer(_) => base.to_string(),
            Endpoint::Live(_) => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
                format!("crmsync-test-{base}-{}-{}", now.as_millis(), std::process::id())
            }
        }
    }
}
