//! Wake-ups on CRM changes (R-PUSH-1): the scheduler waits on these instead
//! of the next poll of the change log, so an edit reaches the groupware in
//! the time of one run, not of a poll period.
//!
//! The change log stays the one source of truth; a signal only says "look
//! now". A lost signal therefore delays a change until the next poll, never
//! loses it:
//! - In-process: every write transaction that appended to the change log
//!   bumps a counter after its commit ([`Db::announce_change`]). That covers
//!   the API and the runs of the same process, on either backend.
//! - PostgreSQL, other processes: the `changes` table notifies
//!   [`CHANNEL`] (trigger of migration 0014); NOTIFY is transactional, so the
//!   listener hears only committed changes. A dropped listen connection may
//!   have missed notifications: after every (re)connect the signal fires
//!   once, so the scheduler polls the log at once.
//!
//! [`Db::announce_change`]: crate::db::Db

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The PostgreSQL notification channel the `changes` trigger notifies.
pub const CHANNEL: &str = "crmsync_changes";

/// Shared by every handle of one [`crate::Store`].
#[derive(Clone)]
pub(crate) struct Signal {
    tx: Arc<watch::Sender<u64>>,
}

impl Signal {
    pub(crate) fn new() -> Signal {
        Signal {
            tx: Arc::new(watch::channel(0).0),
        }
    }

    /// Wakes every [`ChangeEvents`] of this store (a no-op when none listens).
    pub(crate) fn announce(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn subscribe(&self, listen_url: Option<&str>) -> ChangeEvents {
        let listener = listen_url.map(|url| AbortOnDrop(tokio::spawn(listen(url.to_string(), self.clone()))));
        ChangeEvents {
            rx: self.tx.subscribe(),
            _listener: listener,
        }
    }
}

/// A subscription to "the change log may have grown", from
/// [`crate::Store::change_events`]. A change committed while nobody waited
/// is remembered: the next [`ChangeEvents::changed`] returns at once.
pub struct ChangeEvents {
    rx: watch::Receiver<u64>,
    /// PostgreSQL: the LISTEN connection, ended with the subscription.
    _listener: Option<AbortOnDrop>,
}

impl std::fmt::Debug for ChangeEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeEvents")
            .field("listening", &self._listener.is_some())
            .finish()
    }
}

impl ChangeEvents {
    /// Returns once a change may have been committed since the last return.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            // The store is gone: nothing will ever change again.
            std::future::pending::<()>().await;
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Longest wait between reconnect attempts of the listen connection; the
/// poll covers the gap.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);

async fn listen(url: String, signal: Signal) {
    let mut delay = Duration::from_millis(250);
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    delay = Duration::from_millis(250);
                    // Whatever was committed while not listening: look now.
                    signal.announce();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => signal.announce(),
                            // The connection dropped; the next call reconnects
                            // and listens again. Notifications in between are
                            // lost: look at the log now.
                            Ok(None) => signal.announce(),
                            Err(e) => {
                                tracing::warn!(error = %e, "listening for CRM changes failed; polling covers it until it reconnects");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN for CRM changes failed; polling covers it"),
            },
            Err(e) => tracing::warn!(error = %e, "no listen connection for CRM changes; polling covers it"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
    }
}
