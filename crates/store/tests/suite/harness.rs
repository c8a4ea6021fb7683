//! Runs a test body against both backends.

use std::future::Future;

use crmsync_store::Store;
use sqlx::Any;
use sqlx::migrate::MigrateDatabase;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    let store = Store::connect(&url).await.expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("CRMSYNC_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// The admin URL with its database name replaced by `db`.
pub fn postgres_url_for(db: &str) -> String {
    let admin = postgres_admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    format!("{}/{db}{query}", &base[..host_end])
}

/// Creates `crmsync_test_<random>`, runs the body on it, drops it (also when
/// the body panics). Fails, never skips, when PostgreSQL is unreachable.
pub async fn run_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    sqlx::any::install_default_drivers();
    let name = format!("crmsync_test_{}", uuid::Uuid::new_v4().simple());
    let url = postgres_url_for(&name);
    if let Err(e) = Any::create_database(&url).await {
        panic!(
            "PostgreSQL is not reachable for the store tests ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
             or point CRMSYNC_TEST_POSTGRES_URL at a server (default {DEFAULT_POSTGRES_URL})."
        );
    }
    let store = Store::connect(&url).await.expect("open the test database");
    store.migrate().await.expect("migrate PostgreSQL");
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    Any::force_drop_database(&url).await.expect("drop the test database");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
