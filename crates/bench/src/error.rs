//! What can stop a benchmark run. A benchmark never retries by itself: a
//! transient failure (a peer server that did not start in time, a busy disk)
//! is reported so the user can simply run `bench/run` again.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    /// Files or processes of the machine; usually transient (full disk, busy machine).
    #[error("I/O failed while {doing}: {source} (check free disk space and run bench/run again)")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the CRM store failed: {0} (permanent unless the disk is full; run bench/run again)")]
    Store(#[from] crmsync_store::StoreError),
    #[error("the sync run failed: {0}")]
    Sync(#[from] crmsync_sync::SyncError),
    #[error("a connector call failed: {0}")]
    Connector(#[from] crmsync_connector::ConnectorError),
    #[error("the DAV connector could not be set up: {0}")]
    Dav(#[from] crmsync_dav::DavError),
    /// A peer program (radicale, xandikos, vdirsyncer) is missing or failed.
    #[error("peer `{tool}`: {message} (run `source scripts/test-env.sh` to install the Python peers)")]
    Peer { tool: String, message: String },
    /// PostgreSQL for the scale-out figures is missing or refused a database.
    #[error("PostgreSQL: {0} (run `source scripts/test-env.sh`, which starts it)")]
    Postgres(String),
    #[error("the service (scheduler, profiles) failed: {0}")]
    Service(#[from] crmsync_service::ServiceError),
    /// The API server under test answered a request wrongly.
    #[error("API: {0}")]
    Api(String),
    /// A condition polled for did not come true in time: the machine is
    /// overloaded or crmsync is stuck; the figure would mean nothing.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// The raw baseline client got an answer that means the comparison is void.
    #[error("raw client: {0} (the server refused the baseline; the figure would mean nothing)")]
    Raw(String),
    /// A run did not do what the scenario expects (e.g. wrote fewer items):
    /// a bug in crmsync or in the harness, never fixed by a retry.
    #[error("unexpected result: {0}")]
    Unexpected(String),
}

impl BenchError {
    /// Whether running the same benchmark again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BenchError::Io { .. } | BenchError::Peer { .. } | BenchError::Postgres(_) | BenchError::TimedOut(_)
        )
    }

    pub(crate) fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let doing = doing.into();
        move |source| BenchError::Io { doing, source }
    }
}
