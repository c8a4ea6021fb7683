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
}
