//! Crash injection for tests (R-SAFE-2 is proven by crashing between any two
//! apply steps and re-running). Production runs pass no `Faults`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Where in an action a simulated crash strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Before the write is sent.
    BeforeWrite,
    /// After the other side confirmed the write, before the status store
    /// records it: the window R-SAFE-1 is about.
    AfterWrite,
}

#[derive(Debug)]
pub struct Faults {
    /// The 1-based number of the write action at which to crash.
    crash_at: usize,
    point: CrashPoint,
    seen: AtomicUsize,
}

impl Faults {
    pub fn crash_at(write: usize, point: CrashPoint) -> Self {
        Faults {
            crash_at: write,
            point,
            seen: AtomicUsize::new(0),
        }
    }

    /// Counts one write action; returns which crash point fires for it, if any.
    pub(crate) fn next_write(&self) -> Option<CrashPoint> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        (n == self.crash_at).then_some(self.point)
    }

    /// How many write actions were attempted.
    pub fn writes_seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}
