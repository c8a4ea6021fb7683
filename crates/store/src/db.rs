//! What every store handle shares: the connection pool, the backend, and
//! the lease fence a run's writes are checked against (R-SCHED-4).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Any, AnyPool, Transaction};

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::signal::{ChangeEvents, Signal};

/// A profile's lease as a run holds it: every write of that run commits only
/// while the profile's `lease_token` is still `token` (R-SCHED-4). A worker
/// that paused past its lease, while another claimed the profile (and so
/// bumped the token), can then no longer write anything for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub profile: String,
    pub token: i64,
}

/// The pool and how writes start. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Db {
    pool: AnyPool,
    backend: Backend,
    /// For messages only; the password is already replaced by `***`.
    redacted_url: String,
    /// Set on the handles a leased run writes through (R-SCHED-4).
    fence: Option<Arc<Fence>>,
    /// "The change log grew", to this process's waiters (R-PUSH-1).
    signal: Signal,
    /// PostgreSQL: where the LISTEN connection goes (password included:
    /// never printed).
    listen_url: Option<Arc<str>>,
    /// SQLite connections the pool opened (R-STORE-12), for diagnostics.
    opened: Arc<AtomicU64>,
    /// Writes started through this store's handles (R-SYNC-PERF-7): a run
    /// that read something early uses it only while this has not moved.
    /// Shared by the clones of one store; a fenced store has its own.
    writes: Arc<AtomicU64>,
}

impl fmt::Debug for Db {
    // Hand-written: the pool's own Debug would print the connect options,
    // password included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &self.redacted_url)
            .field("fence", &self.fence)
            .finish()
    }
}

impl Db {
    pub(crate) fn new(pool: AnyPool, backend: Backend, redacted_url: String, url: &str, opened: Arc<AtomicU64>) -> Db {
        Db {
            pool,
            backend,
            redacted_url,
            fence: None,
            signal: Signal::new(),
            listen_url: (backend == Backend::Postgres).then(|| Arc::from(url)),
            opened,
            writes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many writes this store's handles (fenced or not, all clones of
    /// one store) have started so far. Two equal answers mean this process
    /// wrote nothing through the store in between (R-SYNC-PERF-7).
    pub(crate) fn writes_started(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    pub(crate) fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Call after committing a transaction that appended to the change log:
    /// wakes this process's schedulers (R-PUSH-1). Other processes hear of it
    /// through PostgreSQL's NOTIFY or their poll.
    pub(crate) fn announce_change(&self) {
        self.signal.announce();
    }

    pub(crate) fn change_events(&self) -> ChangeEvents {
        self.signal.subscribe(self.listen_url.as_deref())
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads. A write through it would skip the fence: writes
    /// go through [`Db::begin_write`] or [`Db::execute_write`].
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A fenced store is one leased run's: it counts its own writes, so
    /// other runs of the process do not move the count its early reads
    /// stand on (R-SYNC-PERF-7).
    pub(crate) fn fenced(&self, profile: &str, token: i64) -> Db {
        Db {
            fence: Some(Arc::new(Fence {
                profile: profile.to_string(),
                token,
            })),
            writes: Arc::new(AtomicU64::new(0)),
            ..self.clone()
        }
    }

    pub(crate) fn unfenced(&self) -> Db {
        Db {
            fence: None,
            ..self.clone()
        }
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
    /// writes fails with SQLITE_BUSY when another writer got in between, and
    /// busy_timeout cannot wait that out. PostgreSQL needs nothing special.
    ///
    /// On a fenced handle the transaction first checks the lease token and
    /// fails with [`StoreError::Fenced`] when another worker has taken the
    /// profile since. On PostgreSQL the profile row is share-locked until the
    /// commit, so a claim cannot slip in between the check and the commit; on
    /// SQLite the write lock already excludes it.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        let mut tx = tx.map_err(StoreError::db("starting a transaction"))?;
        if let Some(fence) = &self.fence {
            self.check_fence(&mut tx, fence).await?;
        }
        Ok(tx)
    }

    async fn check_fence(&self, tx: &mut Transaction<'static, Any>, fence: &Fence) -> Result<()> {
        let lock = match self.backend {
            Backend::Postgres => " FOR SHARE",
            Backend::Sqlite => "",
        };
        let token: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT lease_token FROM sync_profiles WHERE name = $1{lock}"
        )))
        .bind(&fence.profile)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::db("checking the profile's lease"))?;
        if token == Some(fence.token) {
            Ok(())
        } else {
            Err(StoreError::Fenced {
                profile: fence.profile.clone(),
            })
        }
    }

    /// One statement that writes: straight to the pool, or on a fenced
    /// handle in a transaction that checks the lease first.
    pub(crate) async fn execute_write(
        &self,
        query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
        context: &'static str,
    ) -> Result<sqlx::any::AnyQueryResult> {
        if self.fence.is_none() {
            self.writes.fetch_add(1, Ordering::SeqCst);
            return query.execute(&self.pool).await.map_err(StoreError::db(context));
        }
        let mut tx = self.begin_write().await?;
        let done = query.execute(&mut *tx).await.map_err(StoreError::db(context))?;
        tx.commit().await.map_err(StoreError::db(context))?;
        Ok(done)
    }
}
