//! Time as the connector sees it: token expiry and `Retry-After` waits go
//! through a [`Clock`], so tests drive time instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
    async fn sleep(&self, duration: Duration);
}

/// The real clock: `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock for tests: `sleep` returns at once and moves the time on by the
/// duration asked for, and remembers every wait so a test can check it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            now: Mutex::new(start),
            slept: Mutex::new(Vec::new()),
        }
    }

    /// Moves the time on without anyone sleeping.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("lock") += by;
    }

    /// Every `sleep` so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().expect("lock")
    }

    async fn sleep(&self, duration: Duration) {
        self.slept.lock().expect("lock").push(duration);
        self.advance(duration);
    }
}
