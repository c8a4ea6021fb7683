//! Push from the mailbox, the building block (issue 14 item 7): one IDLE
//! connection (RFC 2177) on one folder that says when the folder changed,
//! so a caller can run the profile at once instead of at its next poll.
//! The scheduler holds one per watched folder ([`MailWatch`], R-TRACK-MAIL-11).

use std::time::Duration;

use async_trait::async_trait;
pub use crmsync_connector::MailWake as Wake;
use crmsync_connector::{ConnectorError, MailWatch, Reach};

use crate::config::ImapConfig;
use crate::error::{ImapError, from_imap};
use crate::session::{Session, open, timed};

/// One folder watched over its own connection (never the one runs use).
pub struct ImapWatcher {
    config: ImapConfig,
    reach: Reach,
    folder: String,
    session: Option<Session>,
}

impl std::fmt::Debug for ImapWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapWatcher")
            .field("host", &self.config.host)
            .field("folder", &self.folder)
            .field("connected", &self.session.is_some())
            .finish()
    }
}

impl ImapWatcher {
    /// Checks the settings; connects on the first wait, only where `reach`
    /// allows (R-SEC-1).
    pub fn new(config: ImapConfig, reach: Reach, folder: &str) -> Result<Self, ImapError> {
        config.validate()?;
        Ok(ImapWatcher {
            config,
            reach,
            folder: folder.to_string(),
            session: None,
        })
    }

    /// Waits up to `max_wait` for the folder to change. The first wait, and
    /// the first after a lost connection, connects and answers `Changed` at
    /// once. A lost connection is an error worth retrying (the caller backs
    /// off); the next wait connects again.
    pub async fn wait(&mut self, max_wait: Duration) -> Result<Wake, ConnectorError> {
        let limit = Duration::from_secs(self.config.timeout_secs);
        let Some(session) = self.session.take() else {
            let mut session = open(&self.config, &self.reach).await?;
            let folder = self.folder.clone();
            timed(limit, "SELECT", async {
                session
                    .select(&folder)
                    .await
                    .map_err(|e| from_imap(&format!("SELECT {folder}"), e))
            })
            .await?;
            // What SELECT reported is known: a new connection is a change.
            drained(&session);
            self.session = Some(session);
            return Ok(Wake::Changed);
        };
        // Changes reported outside IDLE (while it started or ended) wait in
        // the session's queue of unsolicited responses.
        if drained(&session) {
            self.session = Some(session);
            return Ok(Wake::Changed);
        }
        let mut idle = session.idle();
        timed(limit, "IDLE", async {
            idle.init().await.map_err(|e| from_imap("IDLE", e))
        })
        .await?;
        let (waiting, _stop) = idle.wait_with_timeout(max_wait);
        let answer = waiting.await.map_err(|e| from_imap("IDLE", e))?;
        let session = timed(limit, "DONE", async {
            idle.done().await.map_err(|e| from_imap("DONE", e))
        })
        .await?;
        let queued = drained(&session);
        self.session = Some(session);
        Ok(match answer {
            async_imap::extensions::idle::IdleResponse::NewData(_) => Wake::Changed,
            _ if queued => Wake::Changed,
            _ => Wake::Quiet,
        })
    }

    /// Logs out; the next wait connects again.
    pub async fn close(&mut self) {
        if let Some(mut session) = self.session.take() {
            let limit = Duration::from_secs(self.config.timeout_secs);
            let _ = timed(limit, "LOGOUT", async {
                session.logout().await.map_err(|e| from_imap("LOGOUT", e))
            })
            .await;
        }
    }
}

#[async_trait]
impl MailWatch for ImapWatcher {
    async fn wait(&mut self, max_wait: Duration) -> Result<Wake, ConnectorError> {
        ImapWatcher::wait(self, max_wait).await
    }

    async fn close(&mut self) {
        ImapWatcher::close(self).await
    }
}

/// Empties the queue of unsolicited responses; true when it held any.
fn drained(session: &Session) -> bool {
    let mut any = false;
    while session.unsolicited_responses.try_recv().is_ok() {
        any = true;
    }
    any
}
