//! Runs a chunk's items with a bounded number in flight. The items borrow the
//! applier, so they cannot be spawned as tasks; they are polled together in
//! the caller's task instead (no `futures` dependency for one combinator).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`run_bounded`] gives back: the outputs of the futures that finished,
/// with their index, and the first error.
pub(crate) struct Finished<T, E> {
    pub done: Vec<(usize, T)>,
    pub error: Option<E>,
}

/// Polls at most `limit` of `futures` at once, starting the next as one ends.
/// After the first error no further future starts, but those in flight run to
/// their end: dropping one in the middle of a database call would throw away
/// its connection (and with it an in-memory database), and a write it already
/// sent is better confirmed and recorded than left in doubt. Callers that
/// want in-flight work to stop early pass it a flag to check (see `stop`).
pub(crate) async fn run_bounded<'a, T, E>(
    futures: Vec<BoxFuture<'a, Result<T, E>>>,
    limit: usize,
    stop: &AtomicBool,
) -> Finished<T, E> {
    // The limit comes from a profile's settings: never allocate from it
    // (a `concurrency` of 10^9 once aborted the process, issue 12).
    let limit = limit.clamp(1, futures.len().max(1));
    let mut running: Vec<(usize, BoxFuture<'a, Result<T, E>>)> = Vec::with_capacity(limit);
    let mut waiting = futures.into_iter().enumerate();
    let mut done = Vec::new();
    let mut error = None;
    std::future::poll_fn(|cx| {
        loop {
            while error.is_none() && running.len() < limit {
                match waiting.next() {
                    Some(f) => running.push(f),
                    None => break,
                }
            }
            if running.is_empty() {
                return Poll::Ready(());
            }
            let mut finished_one = false;
            let mut i = 0;
            while i < running.len() {
                match running[i].1.as_mut().poll(cx) {
                    Poll::Ready(out) => {
                        let (index, _) = running.remove(i);
                        finished_one = true;
                        match out {
                            Ok(out) => done.push((index, out)),
                            Err(e) => {
                                stop.store(true, Ordering::SeqCst);
                                error.get_or_insert(e);
                            }
                        }
                    }
                    Poll::Pending => i += 1,
                }
            }
            // A finished future frees a slot: start the next one now rather
            // than waiting for a wake-up that would never come for it.
            if !finished_one {
                return Poll::Pending;
            }
        }
    })
    .await;
    Finished { done, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn boxed<'a>(f: impl Future<Output = Result<usize, String>> + Send + 'a) -> BoxFuture<'a, Result<usize, String>> {
        Box::pin(f)
    }

    #[tokio::test]
    async fn never_more_than_limit_in_flight_and_all_finish() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let futures = (0..20)
            .map(|i| {
                let (in_flight, peak) = (&in_flight, &peak);
                boxed(async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    for _ in 0..(i % 3 + 1) {
                        tokio::task::yield_now().await;
                    }
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    Ok(i)
                })
            })
            .collect();
        let out = run_bounded(futures, 4, &AtomicBool::new(false)).await;
        assert!(out.error.is_none());
        let mut indexes: Vec<usize> = out.done.iter().map(|(i, v)| *i + 100 * usize::from(*i != *v)).collect();
        indexes.sort_unstable();
        assert_eq!(
            indexes,
            (0..20).collect::<Vec<_>>(),
            "every future ran once, output by its index"
        );
        assert_eq!(peak.load(Ordering::SeqCst), 4, "the limit is reached and kept");
    }

    #[tokio::test]
    async fn r_cfg_dav_2_a_huge_limit_allocates_nothing_from_it() {
        let futures = (0..3).map(|i| boxed(async move { Ok(i) })).collect();
        let out = run_bounded(futures, usize::MAX / 2, &AtomicBool::new(false)).await;
        assert_eq!(out.done.len(), 3, "all ran, no allocation of the limit's size");
    }

    #[tokio::test]
    async fn after_the_first_error_nothing_starts_and_in_flight_work_ends() {
        let started = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let futures = (0..10)
            .map(|i| {
                let (started, stop) = (&started, &stop);
                boxed(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    if i == 1 {
                        return Err(format!("item {i}"));
                    }
                    // Item 0 is in flight when item 1 fails: it sees the flag.
                    tokio::task::yield_now().await;
                    assert!(i != 0 || stop.load(Ordering::SeqCst), "the stop flag is set");
                    Ok(i)
                })
            })
            .collect();
        let out = run_bounded(futures, 2, &stop).await;
        assert_eq!(out.error.as_deref(), Some("item 1"));
        assert_eq!(started.load(Ordering::SeqCst), 2, "no item starts after the error");
        assert_eq!(
            out.done.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0],
            "the one in flight finished"
        );
    }
}
