//! Runs a test body against both backends.

use std::future::Future;

use crmsync_store::Store;
use crmsync_testkit::{Backend, TestDatabase};

/// `store_test!(name, |store| { … })` defines `name::sqlite` and
/// `name::postgres`, each getting a migrated, empty store.
macro_rules! store_test {
    ($name:ident, |$store:ident| $body:block) => {
        crmsync_testkit::on_both_backends!($name, crate::harness::run, |$store: crmsync_store::Store| $body);
    };
}

/// The admin URL with its database name replaced by `db`.
pub fn postgres_url_for(db: &str) -> String {
    crmsync_testkit::postgres_url_for(&crmsync_testkit::postgres_admin_url(), db).expect("the PostgreSQL URL")
}

/// `body` on a migrated store in a fresh database of `backend`, dropped
/// afterwards (also when the body panics).
pub async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDatabase::create(backend, "crmsync_test").await;
    let store = Store::connect(db.url()).await.expect("open the test database");
    store.migrate().await.expect("migrate the test database");
    body(store).await;
}
