//! A Graph connector pointed at the testkit's Graph server.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crmsync_graph::{GraphConfig, GraphConnector, ManualClock};
use crmsync_testkit::GraphServer;
use serde_json::Value;

pub fn config(server: &GraphServer) -> GraphConfig {
    let mut config = GraphConfig::new(
        GraphServer::TENANT,
        GraphServer::MAILBOX,
        GraphServer::CLIENT_ID,
        GraphServer::CLIENT_SECRET,
    );
    config.base_url = server.base_url();
    config.authority = server.authority();
    config
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

/// A contact body as the conformance cases write it.
pub fn sample_contact(_uid: &str, full_name: &str) -> Vec<u8> {
    serde_json::json!({ "displayName": full_name, "givenName": full_name, "businessPhones": ["+1 425 555 0100"] })
        .to_string()
        .into_bytes()
}

/// Every property written is read back with the same value (the server adds
/// id, etag, changeKey, timestamps and crmsync's UID property).
pub fn holds(written: &[u8], read: &[u8]) -> bool {
    let (Ok(Value::Object(w)), Ok(Value::Object(r))) = (
        serde_json::from_slice::<Value>(written),
        serde_json::from_slice::<Value>(read),
    ) else {
        return false;
    };
    w.iter().all(|(k, v)| r.get(k) == Some(v))
}
