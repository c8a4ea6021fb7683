//! A connector that holds a run at its first call until the test opens the
//! gate: a slow or hung mailbox, without sleeping.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use crmsync_connector::{ChangeSet, Collection, CollectionId, Connector, ConnectorError, ItemMeta, Reach, SyncToken};
use crmsync_service::{ConnectorFactory, ConnectorSpec, DefaultConnectorFactory, ServiceError};
use tokio::sync::Semaphore;

/// Opens the production connectors, but those of `gated` profiles wait at
/// their first `discover` or listing (`changes`, `changes_paged`) for a
/// permit of `gate` (a closed gate has none). A run that remembers its collections does not discover
/// (R-SYNC-PERF-3), so the gate is on both.
pub struct GatedFactory {
    pub gated: BTreeSet<String>,
    pub gate: Arc<Semaphore>,
    /// While set, every profile's runs are held too.
    pub gate_all: AtomicBool,
    /// A permit for each run that reached the gate: a test waits on it to
    /// know a run is held there (and has done what comes before).
    pub arrived: Arc<Semaphore>,
}

impl GatedFactory {
    pub fn new(gated: &[&str]) -> Arc<GatedFactory> {
        Arc::new(GatedFactory {
            gated: gated.iter().map(|s| s.to_string()).collect(),
            gate: Arc::new(Semaphore::new(0)),
            gate_all: AtomicBool::new(false),
            arrived: Arc::new(Semaphore::new(0)),
        })
    }

    /// Waits until a held run reached the gate. The time-out only turns a
    /// hang into a failure, generous for a loaded machine.
    pub async fn reached(&self) {
        tokio::time::timeout(std::time::Duration::from_secs(120), self.arrived.acquire())
            .await
            .expect("a run should have reached the gate")
            .expect("the semaphore is never closed")
            .forget();
    }

    /// Lets `n` held runs go on.
    pub fn open(&self, n: usize) {
        self.gate.add_permits(n);
    }
}

impl ConnectorFactory for GatedFactory {
    fn open(&self, profile: &str, settings: &ConnectorSpec, reach: &Reach) -> Result<Arc<dyn Connector>, ServiceError> {
        let inner = DefaultConnectorFactory.open(profile, settings, reach)?;
        if self.gated.contains(profile) || self.gate_all.load(Ordering::SeqCst) {
            Ok(Arc::new(GatedConnector {
                inner,
                gate: self.gate.clone(),
                arrived: self.arrived.clone(),
                passed: AtomicBool::new(false),
            }))
        } else {
            Ok(inner)
        }
    }
}

struct GatedConnector {
    inner: Arc<dyn Connector>,
    gate: Arc<Semaphore>,
    arrived: Arc<Semaphore>,
    /// One permit lets one whole run through (it discovers once per collection).
    passed: AtomicBool,
}

impl GatedConnector {
    async fn pass(&self) {
        if !self.passed.load(Ordering::SeqCst) {
            self.arrived.add_permits(1);
            self.gate.acquire().await.expect("gate open").forget();
            self.passed.store(true, Ordering::SeqCst);
        }
    }
}

/// Held at a run's first discovery or listing; every other call is the
/// profile's own connector's.
#[async_trait]
impl crmsync_connector::Forward for GatedConnector {
    fn inner(&self) -> &dyn Connector {
        &*self.inner
    }
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.pass().await;
        self.inner.discover().await
    }
    async fn changes(&self, c: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        self.pass().await;
        self.inner.changes(c, since).await
    }
    async fn changes_paged(
        &self,
        c: &CollectionId,
        since: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        self.pass().await;
        self.inner.changes_paged(c, since, page).await
    }
}
