//! Push from the mailbox, the building block (issue 14 item 7): one IDLE
//! connection (RFC 2177) on one folder that says when the folder changed,
//! so a caller can run the profile at once instead of at its next poll.
//! The scheduler holds one per watched folder ([`MailWatch`], R-TRACK-MAIL-11).

use std::time::Duration;

use async_trait::async_trait;
pub use crmsync_connector::MailWake as Wake;
use crmsync_connector::{ConnectorError, MailWatch, Reach};

use futures_util::TryStreamExt;

use crate::config::ImapConfig;
use crate::connector::flag_text;
use crate::error::{ImapError, from_imap};
use crate::flag_view::{FlagView, Report};
use crate::session::{Session, open, timed};

/// One folder watched over its own connection (never the one runs use).
pub struct ImapWatcher {
    config: ImapConfig,
    reach: Reach,
    folder: String,
    session: Option<Session>,
    /// The folder's flags as this session last saw them (R-TRACK-MAIL-13).
    view: FlagView,
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
        let view = FlagView::new(&config.tracking.tracked_keyword);
        Ok(ImapWatcher {
            config,
            reach,
            folder: folder.to_string(),
            session: None,
            view,
        })
    }

    /// Waits up to `max_wait` for the folder to change. The first wait, and
    /// the first after a lost connection, connects and answers `Changed` at
    /// once. A lost connection is an error worth retrying (the caller backs
    /// off); the next wait connects again. A report of crmsync's own
    /// `$CRMTracked` STORE (and nothing else) answers `Quiet`
    /// (R-TRACK-MAIL-13).
    pub async fn wait(&mut self, max_wait: Duration) -> Result<Wake, ConnectorError> {
        let limit = Duration::from_secs(self.config.timeout_secs);
        let Some(session) = self.session.take() else {
            let mut session = open(&self.config, &self.reach).await?;
            let folder = self.folder.clone();
            let mailbox = timed(limit, "SELECT", async {
                session
                    .select(&folder)
                    .await
                    .map_err(|e| from_imap(&format!("SELECT {folder}"), e))
            })
            .await?;
            self.view.reset(mailbox.exists);
            // What SELECT reported is known: a new connection is a change.
            discard_queued(&session);
            self.read_unread_flags(&mut session, limit).await?;
            self.session = Some(session);
            return Ok(Wake::Changed);
        };
        let mut session = session;
        // Changes reported outside IDLE (while it started or ended) wait in
        // the session's queue of unsolicited responses.
        if self.note_queued(&session) {
            self.read_unread_flags(&mut session, limit).await?;
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
        let mut session = timed(limit, "DONE", async {
            idle.done().await.map_err(|e| from_imap("DONE", e))
        })
        .await?;
        let mut changed = match answer {
            async_imap::extensions::idle::IdleResponse::NewData(data) => {
                self.view.note(Report::of_response(data.parsed()))
            }
            _ => false,
        };
        changed |= self.note_queued(&session);
        if changed {
            // The flags of new messages, so that marking them later is
            // known for what it is.
            self.read_unread_flags(&mut session, limit).await?;
        }
        self.session = Some(session);
        Ok(if changed { Wake::Changed } else { Wake::Quiet })
    }

    /// Takes in the queued unsolicited responses; true when one is a change.
    fn note_queued(&mut self, session: &Session) -> bool {
        let mut changed = false;
        while let Ok(response) = session.unsolicited_responses.try_recv() {
            changed |= self.view.note(Report::of_unsolicited(&response));
        }
        changed
    }

    /// Reads the flags of the messages the view has none for (one FETCH).
    async fn read_unread_flags(&mut self, session: &mut Session, limit: Duration) -> Result<(), ConnectorError> {
        let Some(first) = self.view.first_unread() else {
            return Ok(());
        };
        let fetches: Vec<_> = timed(limit, "FETCH flags", async {
            session
                .fetch(format!("{first}:*"), "(FLAGS)")
                .await
                .map_err(|e| from_imap("FETCH flags", e))?
                .try_collect()
                .await
                .map_err(|e| from_imap("FETCH flags", e))
        })
        .await?;
        for f in &fetches {
            self.view.read(f.message, f.flags().map(flag_text).collect());
        }
        Ok(())
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

/// Empties the queue of unsolicited responses.
fn discard_queued(session: &Session) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}
