//! The Graph connector's config for this server (feature `graph`): the
//! tenant, app and mailbox the server plays, at its base URL and authority.

use crmsync_graph::GraphConfig;

use super::GraphServer;

impl GraphServer {
    /// The config a Graph profile on this server would have.
    pub fn config(&self) -> GraphConfig {
        let mut config = GraphConfig::new(
            GraphServer::TENANT,
            GraphServer::MAILBOX,
            GraphServer::CLIENT_ID,
            GraphServer::CLIENT_SECRET,
        );
        config.base_url = self.base_url();
        config.authority = self.authority();
        config
    }

    /// The same profile signing in with the test app's certificate instead of its secret.
    pub fn certificate_config(&self) -> GraphConfig {
        serde_json::from_value(serde_json::json!({
            "tenant": GraphServer::TENANT,
            "mailbox": GraphServer::MAILBOX,
            "client_id": GraphServer::CLIENT_ID,
            "auth": "certificate",
            "certificate": super::TEST_APP_PEM,
            "base_url": self.base_url(),
            "authority": self.authority(),
        }))
        .expect("a valid Graph config")
    }

    /// The same mailbox signed in on its user's behalf (R-GRAPH-30): a
    /// public client, no secret; tokens from a device-code sign-in.
    pub fn device_code_config(&self) -> GraphConfig {
        serde_json::from_value(serde_json::json!({
            "tenant": GraphServer::TENANT,
            "mailbox": GraphServer::MAILBOX,
            "client_id": GraphServer::CLIENT_ID,
            "auth": "device-code",
            "base_url": self.base_url(),
            "authority": self.authority(),
        }))
        .expect("a valid Graph config")
    }
}
