//! Runs a test body against both backends.

use std::future::Future;

use crmsync_store::Store;
use crmsync_testkit::{Backend, TestDatabase};

/// `store_test!(name, |store| { … })` defines `name::sqlite` and
/// `name::postgres`, each getting a migrated, empty store.
macro_rules! store_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($store: crmsync_store::Store) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::harness::run_sqlite(body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::harness::run_postgres(body).await
            }
        }
    };
}

pub async fn run_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run(Backend::Sqlite, body).await
}

/// The admin URL with its database name replaced by `db`.
pub fn postgres_url_for(db: &str) -> String {
    crmsync_testkit::postgres_url_for(&crmsync_testkit::postgres_admin_url(), db).expect("the PostgreSQL URL")
}

/// Runs the body on a fresh `crmsync_test_<random>` database, dropped
/// afterwards (also when the body panics). Fails, never skips, when
/// PostgreSQL is unreachable.
pub async fn run_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run(Backend::Postgres, body).await
}

async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDatabase::create(backend, "crmsync_test").await;
    let store = Store::connect(db.url()).await.expect("open the test database");
    store.migrate().await.expect("migrate the test database");
    body(store).await;
}
