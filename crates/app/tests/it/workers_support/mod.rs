//! What the multi-process worker test needs: a throw-away PostgreSQL
//! database, `crmsync worker` children that die with the test, their JSON
//! logs, and a table lock that holds runs in the middle.
#![allow(dead_code)]

pub mod database;
pub mod worker;

use std::future::Future;
use std::time::Duration;

/// Polls until `done` holds. The limit only turns a hang into a failure; it is
/// generous because two cores are shared by several builds and test runs.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + limit;
    while !done().await {
        assert!(tokio::time::Instant::now() < give_up, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
