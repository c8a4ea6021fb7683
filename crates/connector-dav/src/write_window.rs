//! How many writes one collection takes at once, learned as they go
//! (R-SCALE-7, issue 17 item 4).
//!
//! Some servers refuse a write that arrives while another write to the same
//! collection runs: Xandikos commits every write to the collection's git
//! repository, whose index lock admits one writer, and answers 423 Locked to
//! the rest (R-DAV-16 retries them). Each refusal is a request sent twice, so
//! sending the runner's 4–8 updates at once made 10 edits cost 24–30 PUTs.
//!
//! Writes to a collection therefore pass its [`WriteWindow`], an AIMD limit
//! as in TCP congestion control ([`WriteLimit`]): a 423 halves the writes
//! allowed in flight, and [`GROW_AFTER`] writes in a row that were not
//! refused widen it by one, up to the connector's `concurrency`. Only one
//! halving per round: the writes already in flight when the limit was halved
//! were sent under the old limit and may answer 423 as well, which says
//! nothing about the new one. Servers known to take one writer per
//! collection start at one (`Quirks::writes_at_once`), so they never refuse.

use std::sync::Mutex;

use tokio::sync::Notify;

/// Writes in a row without a 423 after which one more may be in flight.
pub const GROW_AFTER: u32 = 16;

/// The AIMD controller itself: no clock, no I/O, so a scripted sequence of
/// outcomes shows what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteLimit {
    limit: usize,
    max: usize,
    /// Writes in a row that were not refused since the last change.
    accepted: u32,
    /// Bumped at each halving: a write remembers the round it was sent in.
    round: u64,
}

impl WriteLimit {
    /// Starts at `initial` writes in flight, never more than `max` (≥ 1).
    pub fn new(initial: usize, max: usize) -> WriteLimit {
        let max = max.max(1);
        WriteLimit {
            limit: initial.clamp(1, max),
            max,
            accepted: 0,
            round: 0,
        }
    }

    /// Writes allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The round a write sent now belongs to.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// A write was answered with anything but 423.
    pub fn accepted(&mut self) {
        self.accepted = self.accepted.saturating_add(1);
        if self.accepted >= GROW_AFTER && self.limit < self.max {
            self.limit += 1;
            self.accepted = 0;
        }
    }

    /// A write sent in round `sent_in` was answered 423: halve, unless an
    /// answer of the same round already did.
    pub fn locked(&mut self, sent_in: u64) {
        self.accepted = 0;
        if sent_in == self.round {
            self.limit = (self.limit / 2).max(1);
            self.round += 1;
        }
    }
}

/// One collection's [`WriteLimit`] with the writes in flight under it.
#[derive(Debug)]
pub struct WriteWindow {
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    limit: WriteLimit,
    in_flight: usize,
}

/// A write's place in the window; give it back with [`WriteSlot::finish`].
/// Dropped without (the request was cancelled) it only frees the place.
#[derive(Debug)]
pub struct WriteSlot<'a> {
    window: &'a WriteWindow,
    round: u64,
    finished: bool,
}

impl WriteWindow {
    pub fn new(initial: usize, max: usize) -> WriteWindow {
        WriteWindow {
            state: Mutex::new(State {
                limit: WriteLimit::new(initial, max),
                in_flight: 0,
            }),
            freed: Notify::new(),
        }
    }

    /// The writes allowed in flight now.
    pub fn limit(&self) -> usize {
        self.lock().limit.limit()
    }

    /// Waits for a place among the writes allowed in flight.
    pub async fn enter(&self) -> WriteSlot<'_> {
        loop {
            // Registered before looking, so a place freed in between wakes us.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.limit.limit() {
                    state.in_flight += 1;
                    return WriteSlot {
                        window: self,
                        round: state.limit.round(),
                        finished: false,
                    };
                }
            }
            freed.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn leave(&self, outcome: Option<bool>, round: u64) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        match outcome {
            Some(true) => state.limit.locked(round),
            Some(false) => state.limit.accepted(),
            None => {}
        }
        drop(state);
        // Every waiter looks again: the limit may have grown by one or the
        // place freed may be the only one.
        self.freed.notify_waiters();
    }
}

impl WriteSlot<'_> {
    /// The server answered; `locked`: with 423.
    pub fn finish(mut self, locked: bool) {
        self.finished = true;
        self.window.leave(Some(locked), self.round);
    }
}

impl Drop for WriteSlot<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.window.leave(None, self.round);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-SCALE-7: a scripted sequence of answers: 423s halve once per round,
    // accepted writes widen by one every GROW_AFTER, within 1..=max.
    #[test]
    fn r_scale_7_aimd_halves_once_per_round_and_grows_by_one() {
        let mut w = WriteLimit::new(8, 8);
        // Eight writes sent in round 0; the first answer is a 423: 8 → 4.
        let sent = w.round();
        w.locked(sent);
        assert_eq!((w.limit(), w.round()), (4, 1));
        // The other seven of round 0 answer 423 as well: no further halving.
        for _ in 0..7 {
            w.locked(sent);
        }
        assert_eq!(w.limit(), 4, "one halving per round");
        // A 423 of a write sent under the new limit halves again: 4 → 2 → 1,
        // and never below one.
        for expected in [2, 1, 1] {
            let round = w.round();
            w.locked(round);
            assert_eq!(w.limit(), expected);
        }
        // GROW_AFTER accepted writes widen by one, not before.
        for _ in 0..GROW_AFTER - 1 {
            w.accepted();
        }
        assert_eq!(w.limit(), 1);
        w.accepted();
        assert_eq!(w.limit(), 2);
        // A 423 in between restarts the count.
        for _ in 0..GROW_AFTER - 1 {
            w.accepted();
        }
        let round = w.round();
        w.locked(round);
        assert_eq!(w.limit(), 1);
        for _ in 0..GROW_AFTER - 1 {
            w.accepted();
        }
        assert_eq!(w.limit(), 1, "the count started again after the 423");
        // Growth stops at max.
        let mut w = WriteLimit::new(1, 2);
        for _ in 0..10 * GROW_AFTER {
            w.accepted();
        }
        assert_eq!(w.limit(), 2);
        assert_eq!(WriteLimit::new(0, 0).limit(), 1, "at least one write");
        assert_eq!(WriteLimit::new(9, 4).limit(), 4, "at most max");
    }

    /// Polls `entering` once: true when it did not get a place.
    async fn still_waiting<F: std::future::Future>(entering: std::pin::Pin<&mut F>) -> bool {
        tokio::select! {
            biased;
            _ = entering => false,
            _ = std::future::ready(()) => true,
        }
    }

    // R-SCALE-7: the window lets `limit` writes in at once; the next waits
    // until one leaves, and a 423 narrows it for those that come after.
    #[tokio::test]
    async fn r_scale_7_the_window_holds_writes_beyond_the_limit() {
        let window = WriteWindow::new(2, 4);
        let a = window.enter().await;
        let b = window.enter().await;
        let mut third = Box::pin(window.enter());
        assert!(
            still_waiting(third.as_mut()).await,
            "a third write waits while two are in flight"
        );
        a.finish(true);
        assert_eq!(window.limit(), 1, "the 423 halved the window");
        assert!(
            still_waiting(third.as_mut()).await,
            "one write still in flight fills a window of one"
        );
        b.finish(true);
        assert_eq!(window.limit(), 1, "b was sent in the old round");
        let c = third.await;
        drop(c);
        let d = window.enter().await;
        d.finish(false);
        assert_eq!(window.limit(), 1);
    }
}
