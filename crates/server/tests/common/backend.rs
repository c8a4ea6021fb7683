//! Runs a test on a fresh world on SQLite and on PostgreSQL, where the
//! backends differ (PostgreSQL refuses NUL in text, for one). PostgreSQL is
//! the one `CRMSYNC_TEST_POSTGRES_URL` names (scripts/test-env.sh sets it);
//! unreachable, the test fails rather than skips.

use std::future::Future;

use sqlx::Any;
use sqlx::migrate::MigrateDatabase;

use super::{TEST_MAX_BODY, World};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `on_both!(name, |w| { … })`: `name::sqlite` and `name::postgres`, each
/// with a fresh [`World`] (`TEST_MAX_BODY`).
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$w:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body(#[allow(unused_mut)] mut $w: common::World) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                common::backend::run(common::backend::Backend::Sqlite, body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                common::backend::run(common::backend::Backend::Postgres, body).await
            }
        }
    };
}

/// A fresh database of `backend`, the world in it, `body` on it; the
/// PostgreSQL database is dropped afterwards, also when `body` panics.
pub async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, drop_url) = match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.path().join("crm.db").display()), None),
        Backend::Postgres => {
            let url = postgres_database().await;
            (url.clone(), Some(url))
        }
    };
    let world = World::on(dir, &url, TEST_MAX_BODY).await;
    let outcome = tokio::spawn(body(world)).await;
    if let Some(url) = drop_url {
        Any::force_drop_database(&url).await.expect("drop the test database");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Creates `crmsync_srv_<random>` beside the database of the admin URL.
fn postgres_url_for(name: &str) -> String {
    let admin = std::env::var("CRMSYNC_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    let (base, query) = admin.split_once('?').unwrap_or((admin.as_str(), ""));
    let (server, _) = base.rsplit_once('/').expect("the PostgreSQL URL names a database");
    if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    }
}

async fn postgres_database() -> String {
    sqlx::any::install_default_drivers();
    let url = postgres_url_for(&format!("crmsync_srv_{}", uuid::Uuid::new_v4().simple()));
    if let Err(e) = Any::create_database(&url).await {
        panic!(
            "PostgreSQL is not reachable for the server tests ({e}); start it or set \
             CRMSYNC_TEST_POSTGRES_URL (default {DEFAULT_POSTGRES_URL})"
        );
    }
    url
}
