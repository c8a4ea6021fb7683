//! Runs a test on a fresh world on SQLite and on PostgreSQL, where the
//! backends differ (PostgreSQL refuses NUL in text, for one). PostgreSQL is
//! the one `CRMSYNC_TEST_POSTGRES_URL` names (scripts/test-env.sh sets it);
//! unreachable, the test fails rather than skips.

use std::future::Future;

pub use crmsync_testkit::Backend;
use crmsync_testkit::TestDatabase;

use super::{TEST_MAX_BODY, World};

/// `on_both!(name, |w| { … })`: `name::sqlite` and `name::postgres`, each
/// with a fresh [`World`] (`TEST_MAX_BODY`).
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$w:ident| $body:block) => {
        crmsync_testkit::on_both_backends!($name, common::backend::run, |$w: common::World| $body);
    };
}

/// A fresh database of `backend`, the world in it, `body` on it; the
/// database is dropped afterwards, also when `body` panics.
pub async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDatabase::create(backend, "crmsync_srv").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let world = World::on(dir, db.url(), TEST_MAX_BODY).await;
    body(world).await;
}
