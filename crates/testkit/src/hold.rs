//! Holding one chosen request at the proxy until the test lets it go: the way
//! to make "an outside edit lands between crmsync's read and its write"
//! deterministic instead of a race on timing.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

type Matcher = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A rule waiting for its request, kept by the proxy.
pub(crate) struct HoldRule {
    matches: Matcher,
    arrived: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// The test's end of a hold: wait for the request, then release it.
pub struct Hold {
    arrived: Option<oneshot::Receiver<()>>,
    release: Option<oneshot::Sender<()>>,
}

impl Hold {
    /// Waits until the matching request reached the proxy (and is held there).
    /// Panics after `within`: a hang becomes a failure with a reason.
    pub async fn arrived(&mut self, within: Duration) {
        let arrived = self.arrived.take().expect("arrived() is awaited once");
        tokio::time::timeout(within, arrived)
            .await
            .expect("the held request never came")
            .expect("the proxy stopped");
    }

    /// Forwards the held request to the server. Dropping the hold does too.
    pub fn release(&mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release();
    }
}

#[derive(Default)]
pub(crate) struct Holds {
    rules: Mutex<Vec<HoldRule>>,
}

impl Holds {
    pub fn add(&self, matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Hold {
        let (arrived_tx, arrived_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        self.rules.lock().expect("holds lock").push(HoldRule {
            matches: Box::new(matches),
            arrived: arrived_tx,
            release: release_rx,
        });
        Hold {
            arrived: Some(arrived_rx),
            release: Some(release_tx),
        }
    }

    /// Takes the first rule matching this request (each rule holds one request).
    /// The returned receiver resolves when the test releases it.
    pub fn take(&self, method: &str, target: &str) -> Option<oneshot::Receiver<()>> {
        let mut rules = self.rules.lock().expect("holds lock");
        let at = rules.iter().position(|r| (r.matches)(method, target))?;
        let rule = rules.remove(at);
        let _ = rule.arrived.send(());
        Some(rule.release)
    }
}
