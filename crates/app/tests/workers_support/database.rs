//! A fresh PostgreSQL database per test on the server that
//! `CRMSYNC_TEST_POSTGRES_URL` names, dropped when the test ends (also after
//! a panic); and a lock that stops every run at its first journal read.

use crmsync_store::Store;
use sqlx::migrate::MigrateDatabase;
use sqlx::{Any, Transaction};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDatabase {
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        sqlx::any::install_default_drivers();
        let admin = std::env::var("CRMSYNC_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let name = format!("crmsync_cli_{}", uuid::Uuid::new_v4().simple());
        // The admin URL names a database (`…/postgres`): swap in ours.
        let (base, query) = admin.split_once('?').unwrap_or((admin.as_str(), ""));
        let (server, _) = base.rsplit_once('/').expect("the PostgreSQL URL names a database");
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        if let Err(e) = Any::create_database(&url).await {
            panic!(
                "PostgreSQL is not reachable for the worker tests ({e}); `source scripts/test-env.sh` starts it, \
                 or set CRMSYNC_TEST_POSTGRES_URL (default {DEFAULT_POSTGRES_URL})"
            );
        }
        TestDatabase { url }
    }

    /// A migrated store on this database, for seeding and for reading what the workers did.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which must not block on
        // itself: drop the database from a thread with a runtime of its own.
        // `force` ends the connections of workers that were killed.
        let url = self.url.clone();
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(Any::force_drop_database(&url))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop the test database {}", self.url);
        }
    }
}

/// Holds `sync_journal` in ACCESS EXCLUSIVE mode until dropped or released.
///
/// A run reads the journal right after it recorded its start (to resume an
/// interrupted run, R-SAFE-2), so every run a worker starts while the hold
/// lasts waits there with its lease held and renewed: a run "in the middle"
/// for as long as the test needs, on an unmodified binary. The scheduler's own
/// loop (change log, claims, renewals) never touches the journal and goes on.
pub struct RunHold {
    tx: Option<Transaction<'static, Any>>,
}

impl RunHold {
    pub async fn take(store: &Store) -> RunHold {
        let mut tx = store.pool().begin().await.expect("begin the hold");
        sqlx::query("LOCK TABLE sync_journal IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .expect("lock sync_journal");
        RunHold { tx: Some(tx) }
    }

    pub async fn release(mut self) {
        if let Some(tx) = self.tx.take() {
            tx.rollback().await.expect("release the hold");
        }
    }
}
