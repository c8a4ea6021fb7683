//! What the proxy did, so a test can assert that its faults really happened.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fault::Fault;

#[derive(Debug, Default)]
pub struct FaultCounters {
    injected: [AtomicU64; 8],
    passed: AtomicU64,
    held: AtomicU64,
    /// `METHOD target` of every request whose head arrived, in order.
    requests: Mutex<Vec<String>>,
}

impl FaultCounters {
    pub(crate) fn injected(&self, fault: Fault) {
        self.injected[fault.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn passed(&self) {
        self.passed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn held(&self) {
        self.held.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request(&self, method: &str, target: &str) {
        self.requests
            .lock()
            .expect("request log")
            .push(format!("{method} {target}"));
    }

    /// `METHOD target` of every request the proxy saw, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }

    /// How often `fault` was injected.
    pub fn get(&self, fault: Fault) -> u64 {
        self.injected[fault.index()].load(Ordering::Relaxed)
    }

    /// Requests forwarded untouched (held ones included).
    pub fn passed_through(&self) -> u64 {
        self.passed.load(Ordering::Relaxed)
    }

    /// Requests held by a [`crate::Hold`] before being forwarded.
    pub fn held_requests(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Every fault kind with its count, for assertion messages.
    pub fn snapshot(&self) -> BTreeMap<Fault, u64> {
        Fault::ALL.iter().map(|f| (*f, self.get(*f))).collect()
    }
}
