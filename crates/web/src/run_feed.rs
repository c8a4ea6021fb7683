//! The dashboard's run feed (R-WEB-21): the runs that ended, whichever
//! process ran them (this server's scheduler, `crmsync worker` processes
//! and other servers on the same database), as profile names on one
//! broadcast that every open `/events` stream (R-WEB-12) subscribes to.
//!
//! It reads the run rows, the one record every process writes: each look is
//! one indexed query (`sync_runs (finished_at)`, migration 0021) for the
//! whole server, whatever the number of open pages, every
//! `server.live_poll_millis` and at once when this server's own scheduler
//! ends a run. Every announcement comes from that query and each run id is
//! told once, so a run of this server's scheduler is not told twice (once
//! by its event, once by the query). The task runs only while a page
//! listens: the first subscriber starts it, and it stops when the last one
//! is gone.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_service::Scheduler;
use crmsync_store::status::FinishedRun;
use crmsync_store::{Store, StoreError};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Mutex, broadcast};

/// How far each look reaches back before the latest end it saw. Run ends
/// are stamped by the process that ran them just before it commits, so a
/// run stamped earlier can become visible after one stamped later, and the
/// hosts of several workers may disagree on the time; runs are remembered
/// by id for this long so the overlap tells none twice.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(60);

/// Cheap to clone: clones share one feed.
#[derive(Clone)]
pub struct RunFeed {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    every: Duration,
    /// This process's scheduler: its run ends make the feed look at once.
    scheduler: Option<Scheduler>,
    /// The broadcast while the feed's task runs.
    sender: Mutex<Option<broadcast::Sender<String>>>,
}

impl std::fmt::Debug for RunFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunFeed")
            .field("every", &self.inner.every)
            .finish_non_exhaustive()
    }
}

impl RunFeed {
    /// A feed looking every `every` (validated at start as
    /// `server.live_poll_millis`); nothing runs before the first subscriber.
    pub fn new(store: Store, every: Duration, scheduler: Option<Scheduler>) -> RunFeed {
        RunFeed {
            inner: Arc::new(Inner {
                store,
                every,
                scheduler,
                sender: Mutex::new(None),
            }),
        }
    }

    /// The names of the profiles whose runs end from now on, one per run.
    /// The first subscriber reads what ended lately (so it is not told) and
    /// starts the task before it returns: no run ending after this call is
    /// missed.
    pub async fn subscribe(&self) -> Result<broadcast::Receiver<String>, StoreError> {
        let mut sender = self.inner.sender.lock().await;
        if let Some(tx) = &*sender {
            return Ok(tx.subscribe());
        }
        let mut seen = Seen::new(Utc::now());
        seen.news(&self.inner.store).await?;
        let (tx, rx) = broadcast::channel(1024);
        *sender = Some(tx.clone());
        let own = self.inner.scheduler.as_ref().map(Scheduler::subscribe);
        tokio::spawn(watch(Arc::downgrade(&self.inner), tx, seen, own));
        Ok(rx)
    }
}

/// The runs already told: the latest end seen and the ids within
/// [`OVERLAP`] of it.
struct Seen {
    mark: DateTime<Utc>,
    ids: HashMap<String, DateTime<Utc>>,
}

impl Seen {
    /// Starting at `now` on the clock the run rows are stamped with.
    fn new(now: DateTime<Utc>) -> Seen {
        Seen {
            mark: now,
            ids: HashMap::new(),
        }
    }

    /// The profiles of the runs that ended since the last look and were not
    /// told yet, in the order they ended.
    async fn news(&mut self, store: &Store) -> Result<Vec<String>, StoreError> {
        let runs = store.sync_state().runs_finished_since(self.mark - OVERLAP).await?;
        Ok(self.take(runs))
    }

    /// Of `runs` (those ended since `mark - OVERLAP`), the profiles of the
    /// ones not told yet; remembers them.
    fn take(&mut self, runs: Vec<FinishedRun>) -> Vec<String> {
        let mut new = Vec::new();
        for run in runs {
            self.mark = self.mark.max(run.finished_at);
            if self.ids.insert(run.id, run.finished_at).is_none() {
                new.push(run.profile);
            }
        }
        let oldest = self.mark - OVERLAP;
        self.ids.retain(|_, ended| *ended >= oldest);
        new
    }
}

/// Looks every `every` and at each of this process's run ends, until the
/// feed is dropped or nobody listens.
async fn watch(
    feed: Weak<Inner>,
    tx: broadcast::Sender<String>,
    mut seen: Seen,
    mut own: Option<broadcast::Receiver<crmsync_service::RunEvent>>,
) {
    loop {
        let Some(inner) = feed.upgrade() else { return };
        let (store, every) = (inner.store.clone(), inner.every);
        drop(inner);
        match &mut own {
            Some(events) => tokio::select! {
                _ = tokio::time::sleep(every) => {}
                ended = events.recv() => {
                    // A burst of this server's run ends costs one look.
                    let mut ended = ended.map(|_| ());
                    while ended.is_ok() {
                        ended = events.try_recv().map(|_| ()).map_err(|e| match e {
                            tokio::sync::broadcast::error::TryRecvError::Closed => RecvError::Closed,
                            _ => RecvError::Lagged(0),
                        });
                    }
                    if let Err(RecvError::Closed) = ended {
                        own = None;
                    }
                },
            },
            None => tokio::time::sleep(every).await,
        }
        match seen.news(&store).await {
            Ok(profiles) => {
                for profile in profiles {
                    // Nobody listening is handled below.
                    let _ = tx.send(profile);
                }
            }
            // The next look reads the same window again: nothing is lost.
            Err(e) => tracing::warn!(error = %e, "the dashboard's run feed could not read the runs"),
        }
        if tx.receiver_count() == 0 {
            let Some(inner) = feed.upgrade() else { return };
            let mut sender = inner.sender.lock().await;
            // Under the lock no page can subscribe meanwhile.
            if tx.receiver_count() == 0 {
                *sender = None;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-WEB-21: a run is told once, however many looks see it in their
    // overlap, also one that became visible after a later one; ids older
    // than the overlap are forgotten.
    #[test]
    fn r_web_21_each_run_is_told_once() {
        let t0 = "2026-12-07T01:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let run = |id: &str, secs: i64| FinishedRun {
            id: id.into(),
            profile: format!("p-{id}"),
            finished_at: t0 + chrono::Duration::seconds(secs),
        };
        let mut seen = Seen::new(t0);
        assert_eq!(seen.take(vec![run("a", 1)]), vec!["p-a"]);
        assert_eq!(
            seen.take(vec![run("a", 1), run("b", 0), run("c", 2)]),
            vec!["p-b", "p-c"],
            "b ended before a but was committed after it"
        );
        assert_eq!(seen.mark, t0 + chrono::Duration::seconds(2));
        assert_eq!(seen.take(vec![run("c", 2), run("d", 200)]), vec!["p-d"]);
        assert_eq!(seen.ids.len(), 1, "a, b and c are out of the overlap");
    }
}
