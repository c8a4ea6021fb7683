//! A fresh PostgreSQL database per test (`crmsync_testkit::TestDatabase`,
//! dropped when the test ends, also after a panic) with a migrated store on
//! it; and a lock that stops every run at its first journal read.

use crmsync_store::Store;
use crmsync_testkit::TestDatabase as Database;
use sqlx::{Any, Transaction};

pub struct TestDatabase {
    db: Database,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let db = Database::postgres("crmsync_cli").await;
        TestDatabase {
            url: db.url().to_owned(),
            db,
        }
    }

    /// A migrated store on this database, for seeding and for reading what the workers did.
    pub async fn store(&self) -> Store {
        let store = Store::connect(self.db.url())
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
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
