//! Runs a chunk's items with a bounded number in flight. The items borrow the
//! applier, so they cannot be spawned as tasks; they are polled together in
//! the caller's task instead (no `futures` dependency for one combinator).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`run_bounded`] gives back: the outputs of the futures that finished,
/// with their index, and the first error.
pub(crate) struct Finished<T, E> {
    pub done: Vec<(usize, T)>,
    pub error: Option<E>,
}

/// Polls at most `limit` of `futures` at once, starting the next as one ends.
/// At the first error the rest are dropped: those not started never start,
/// those in flight stop at their current await (their writes may or may not
/// have landed, which the journal's `started` marks cover).
pub(crate) async fn run_bounded<'a, T, E>(futures: Vec<BoxFuture<'a, Result<T, E>>>, limit: usize) -> Finished<T, E> {
    let limit = limit.max(1);
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, BoxFuture<'a, Result<T, E>>)> = Vec::with_capacity(limit);
    let mut done = Vec::new();
    let error = std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit {
                match waiting.next() {
                    Some(f) => running.push(f),
                    None => break,
                }
            }
            if running.is_empty() {
                return Poll::Ready(None);
            }
            let mut finished_one = false;
            let mut i = 0;
            while i < running.len() {
                match running[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(out)) => {
                        let (index, _) = running.remove(i);
                        done.push((index, out));
                        finished_one = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
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
    drop(running);
    Finished { done, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
        let out = run_bounded(futures, 4).await;
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
    async fn the_first_error_stops_the_rest() {
        let started = AtomicUsize::new(0);
        let futures = (0..10)
            .map(|i| {
                let started = &started;
                boxed(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    if i == 1 { Err(format!("item {i}")) } else { Ok(i) }
                })
            })
            .collect();
        let out = run_bounded(futures, 2).await;
        assert_eq!(out.error.as_deref(), Some("item 1"));
        assert!(
            started.load(Ordering::SeqCst) <= 3,
            "no item is started after the error"
        );
        assert!(out.done.iter().all(|(i, _)| *i != 1));
    }
}
