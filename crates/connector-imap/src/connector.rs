//! [`ImapConnector`]: the [`MailSource`] of one IMAP mailbox. One session per
//! connector, opened on first use and again after the connection was lost;
//! CONDSTORE (RFC 7162) makes a poll of an unchanged folder one STATUS
//! command, UID ranges serve servers without it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use crmsync_connector::{
    ConnectorError, FolderPoll, FolderPosition, MailSource, MarkOutcome, MessageFlags, RawMessage, Reach, ThreadHeaders,
};
use futures_util::TryStreamExt;
use tokio::sync::Mutex;

use crate::config::ImapConfig;
use crate::error::{ImapError, from_imap};
use crate::headers::thread_headers;
use crate::session::{Session, open, timed};
use crate::uid_set::{BATCH, imap_uid, imap_uids, uid_set};

/// One IMAP mailbox.
pub struct ImapConnector {
    config: ImapConfig,
    /// Where the connection may go (R-SEC-1), checked at every connect.
    reach: Reach,
    state: Mutex<Option<Open>>,
    commands: AtomicU64,
}

impl std::fmt::Debug for ImapConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConnector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A logged-in session and what it knows of the server.
struct Open {
    session: Session,
    condstore: bool,
    selected: Option<String>,
}

impl ImapConnector {
    /// Checks the settings; connects on first use, to any address.
    pub fn new(config: ImapConfig) -> Result<Self, ImapError> {
        Self::with_reach(config, Reach::Any)
    }

    /// As [`ImapConnector::new`], connecting only where `reach` allows
    /// (R-SEC-1): the host is resolved and checked before every connect.
    pub fn with_reach(config: ImapConfig, reach: Reach) -> Result<Self, ImapError> {
        config.validate()?;
        Ok(ImapConnector {
            config,
            reach,
            state: Mutex::new(None),
            commands: AtomicU64::new(0),
        })
    }

    /// IMAP commands sent since the connector was made (login included):
    /// what a poll costs, for tests and the bench.
    pub fn commands_sent(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// APPENDs `message` to `folder` with `flags` (space-separated, e.g.
    /// `$CRM`; empty for none), as a mail client files a message. The demo
    /// puts its sample mail this way; sync never writes messages.
    pub async fn append(&self, folder: &str, flags: &str, message: &[u8]) -> Result<(), ConnectorError> {
        let flags = (!flags.trim().is_empty()).then(|| format!("({})", flags.trim()));
        self.with_session("APPEND", async |open, conn| {
            conn.count(1);
            open.session
                .append(folder, flags.as_deref(), None, message)
                .await
                .map_err(|e| not_found_or(folder, from_imap(&format!("APPEND {folder}"), e)))
        })
        .await
    }

    fn limit(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }

    fn count(&self, n: u64) {
        self.commands.fetch_add(n, Ordering::Relaxed);
    }

    /// Runs `work` on the open session (opening it first); a lost or timed
    /// out connection is dropped so the next call starts a fresh one.
    async fn with_session<T>(
        &self,
        what: &str,
        work: impl AsyncFnOnce(&mut Open, &Self) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        let mut guard = self.state.lock().await;
        if guard.is_none() {
            let mut session = open(&self.config, &self.reach).await?;
            let caps = timed(self.limit(), "CAPABILITY", async {
                session.capabilities().await.map_err(|e| from_imap("CAPABILITY", e))
            })
            .await?;
            self.count(2);
            let condstore = caps.has_str("CONDSTORE");
            tracing::debug!(host = %self.config.host, condstore, "IMAP session open");
            *guard = Some(Open {
                session,
                condstore,
                selected: None,
            });
        }
        let open = guard.as_mut().expect("session just opened");
        let result = timed(self.limit(), what, work(open, self)).await;
        if let Err(e) = &result
            && matches!(e, ConnectorError::Unreachable { .. } | ConnectorError::Timeout { .. })
        {
            *guard = None;
        }
        result
    }
}

impl Open {
    /// SELECTs `folder` (with CONDSTORE where offered) unless it is selected.
    async fn select(
        &mut self,
        conn: &ImapConnector,
        folder: &str,
        force: bool,
    ) -> Result<Option<FolderPosition>, ConnectorError> {
        if !force && self.selected.as_deref() == Some(folder) {
            return Ok(None);
        }
        self.selected = None;
        conn.count(1);
        let mailbox = if self.condstore {
            self.session.select_condstore(folder).await
        } else {
            self.session.select(folder).await
        }
        .map_err(|e| not_found_or(folder, from_imap(&format!("SELECT {folder}"), e)))?;
        self.selected = Some(folder.to_string());
        Ok(Some(FolderPosition {
            uid_validity: u64::from(mailbox.uid_validity.unwrap_or(0)),
            highest_modseq: mailbox.highest_modseq.filter(|_| self.condstore),
            uid_next: u64::from(mailbox.uid_next.unwrap_or(0)),
            cursor: None,
        }))
    }

    async fn fetch_flags(
        &mut self,
        conn: &ImapConnector,
        changed_since: Option<u64>,
    ) -> Result<Vec<MessageFlags>, ConnectorError> {
        let items = if self.condstore {
            "(UID FLAGS MODSEQ)"
        } else {
            "(UID FLAGS)"
        };
        let query = match changed_since {
            Some(m) => format!("{items} (CHANGEDSINCE {m})"),
            None => items.to_string(),
        };
        conn.count(1);
        let fetches: Vec<_> = self
            .session
            .uid_fetch("1:*", &query)
            .await
            .map_err(|e| from_imap("UID FETCH flags", e))?
            .try_collect()
            .await
            .map_err(|e| from_imap("UID FETCH flags", e))?;
        Ok(fetches
            .iter()
            .filter_map(|f| {
                Some(MessageFlags {
                    uid: u64::from(f.uid?),
                    flags: f.flags().map(flag_text).collect(),
                    modseq: f.modseq,
                })
            })
            .collect())
    }

    /// `UID FETCH` of `uids` in `folder`, [`BATCH`] UIDs per command.
    async fn fetch_uids(
        &mut self,
        conn: &ImapConnector,
        folder: &str,
        uids: &[u64],
        items: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ConnectorError> {
        let uids = imap_uids(uids)?;
        self.select(conn, folder, false).await?;
        let mut out = Vec::new();
        for chunk in uids.chunks(BATCH) {
            conn.count(1);
            let fetches: Vec<_> = self
                .session
                .uid_fetch(uid_set(chunk), items)
                .await
                .map_err(|e| from_imap("UID FETCH", e))?
                .try_collect()
                .await
                .map_err(|e| from_imap("UID FETCH", e))?;
            out.extend(fetches);
        }
        Ok(out)
    }

    async fn all_uids(&mut self, conn: &ImapConnector) -> Result<Vec<u64>, ConnectorError> {
        conn.count(1);
        let uids: HashSet<u32> = self
            .session
            .uid_search("ALL")
            .await
            .map_err(|e| from_imap("UID SEARCH ALL", e))?;
        let mut uids: Vec<u64> = uids.into_iter().map(u64::from).collect();
        uids.sort_unstable();
        Ok(uids)
    }
}

/// A folder the server does not know is `NotFound`, so the runner can say so.
fn not_found_or(folder: &str, e: ConnectorError) -> ConnectorError {
    match e {
        ConnectorError::Server { message, .. }
            if message.to_ascii_lowercase().contains("doesn't exist")
                || message.to_ascii_lowercase().contains("nonexistent") =>
        {
            ConnectorError::NotFound {
                what: format!("mail folder {folder}"),
            }
        }
        other => other,
    }
}

pub(crate) fn flag_text(flag: async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match flag {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(text) => text.into_owned(),
    }
}

#[async_trait]
impl MailSource for ImapConnector {
    async fn ensure_folder(&self, folder: &str) -> Result<(), ConnectorError> {
        self.with_session("CREATE", async |open, conn| {
            conn.count(1);
            match open.session.create(folder).await {
                Ok(()) => Ok(()),
                // Dovecot: "NO [ALREADYEXISTS] Mailbox already exists".
                Err(async_imap::error::Error::No(text)) if text.to_ascii_lowercase().contains("exists") => Ok(()),
                Err(e) => Err(from_imap(&format!("CREATE {folder}"), e)),
            }
        })
        .await
    }

    async fn poll(&self, folder: &str, since: Option<&FolderPosition>) -> Result<FolderPoll, ConnectorError> {
        let since = since.cloned();
        self.with_session("polling a folder", async |open, conn| {
            // A no-change poll: one STATUS (R-TRACK-MAIL-2 in docs/RULES.md).
            if let Some(prev) = since.clone()
                && open.condstore
                && prev.highest_modseq.is_some()
            {
                // STATUS of the selected folder answers from the session's
                // own view (Dovecot), which misses others' changes: leave it.
                if open.selected.as_deref() == Some(folder) {
                    conn.count(1);
                    open.selected = None;
                    open.session
                        .run_command_and_check_ok("UNSELECT")
                        .await
                        .map_err(|e| from_imap("UNSELECT", e))?;
                }
                conn.count(1);
                let status = open
                    .session
                    .status(folder, "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)")
                    .await
                    .map_err(|e| not_found_or(folder, from_imap(&format!("STATUS {folder}"), e)))?;
                let now = FolderPosition {
                    uid_validity: u64::from(status.uid_validity.unwrap_or(0)),
                    highest_modseq: status.highest_modseq,
                    uid_next: u64::from(status.uid_next.unwrap_or(0)),
                    cursor: None,
                };
                if now == prev {
                    return Ok(FolderPoll {
                        position: now,
                        full: false,
                        unchanged: true,
                        changed: Vec::new(),
                        present: None,
                        removed: Vec::new(),
                    });
                }
            }
            let position = open.select(conn, folder, true).await?.expect("forced SELECT answers");
            let full = since.as_ref().is_none_or(|p| p.uid_validity != position.uid_validity);
            let changed_since = match &since {
                Some(p) if !full && open.condstore => p.highest_modseq,
                _ => None,
            };
            let empty = position.uid_next <= 1;
            let changed = if empty {
                Vec::new()
            } else {
                open.fetch_flags(conn, changed_since).await?
            };
            let present = if changed_since.is_none() {
                changed.iter().map(|m| m.uid).collect()
            } else if empty {
                Vec::new()
            } else {
                open.all_uids(conn).await?
            };
            Ok(FolderPoll {
                position,
                full,
                unchanged: false,
                changed,
                present: Some(present),
                removed: Vec::new(),
            })
        })
        .await
    }

    async fn thread_headers(&self, folder: &str, uids: &[u64]) -> Result<Vec<ThreadHeaders>, ConnectorError> {
        self.with_session("fetching thread headers", async |open, conn| {
            let fetches = open.fetch_uids(conn, folder, uids, "(UID BODY.PEEK[HEADER])").await?;
            Ok(fetches
                .iter()
                .filter_map(|f| Some(thread_headers(u64::from(f.uid?), f.header().unwrap_or_default())))
                .collect())
        })
        .await
    }

    async fn fetch(&self, folder: &str, uids: &[u64]) -> Result<Vec<RawMessage>, ConnectorError> {
        self.with_session("fetching messages", async |open, conn| {
            let fetches = open
                .fetch_uids(conn, folder, uids, "(UID FLAGS INTERNALDATE BODY.PEEK[])")
                .await?;
            Ok(fetches
                .iter()
                .filter_map(|f| {
                    Some(RawMessage {
                        uid: u64::from(f.uid?),
                        flags: f.flags().map(flag_text).collect(),
                        received_at: f.internal_date().map(|d| d.timestamp()),
                        body: f.body()?.to_vec(),
                    })
                })
                .collect())
        })
        .await
    }

    async fn add_keyword(
        &self,
        folder: &str,
        uid: u64,
        modseq: Option<u64>,
        keyword: &str,
    ) -> Result<MarkOutcome, ConnectorError> {
        let uid = imap_uid(uid)?;
        self.with_session("marking a message", async |open, conn| {
            open.select(conn, folder, false).await?;
            let condition = match modseq {
                Some(m) if open.condstore => format!("(UNCHANGEDSINCE {m}) "),
                _ => String::new(),
            };
            conn.count(1);
            let answers: Vec<_> = open
                .session
                .uid_store(uid.to_string(), format!("{condition}+FLAGS ({keyword})"))
                .await
                .map_err(|e| from_imap("UID STORE", e))?
                .try_collect()
                .await
                .map_err(|e| from_imap("UID STORE", e))?;
            let marked = answers
                .iter()
                .any(|f| f.uid == Some(uid) && f.flags().any(|fl| flag_text(fl).eq_ignore_ascii_case(keyword)));
            // A failed UNCHANGEDSINCE answers OK [MODIFIED uid] and no FETCH.
            Ok(if marked {
                MarkOutcome::Marked
            } else {
                MarkOutcome::Changed
            })
        })
        .await
    }

    /// One `UID STORE` per [`BATCH`] UIDs, conditional on the highest
    /// MODSEQ read (see the trait): a round trip per message was most of a
    /// first scan's time.
    async fn add_keywords(
        &self,
        folder: &str,
        marks: &[(u64, Option<u64>)],
        keyword: &str,
    ) -> Result<Vec<u64>, ConnectorError> {
        if marks.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<(u32, Option<u64>)> = marks
            .iter()
            .map(|&(uid, modseq)| Ok((imap_uid(uid)?, modseq)))
            .collect::<Result<_, ConnectorError>>()?;
        self.with_session("marking messages", async |open, conn| {
            open.select(conn, folder, false).await?;
            let mut marked = Vec::new();
            for chunk in marks.chunks(BATCH) {
                let condition = match chunk.iter().filter_map(|(_, m)| *m).max() {
                    Some(m) if open.condstore => format!("(UNCHANGEDSINCE {m}) "),
                    _ => String::new(),
                };
                let uids: Vec<u32> = chunk.iter().map(|(uid, _)| *uid).collect();
                conn.count(1);
                let answers: Vec<_> = open
                    .session
                    .uid_store(uid_set(&uids), format!("{condition}+FLAGS ({keyword})"))
                    .await
                    .map_err(|e| from_imap("UID STORE", e))?
                    .try_collect()
                    .await
                    .map_err(|e| from_imap("UID STORE", e))?;
                // Those that failed UNCHANGEDSINCE are named in OK [MODIFIED …]
                // and get no FETCH answer.
                marked.extend(answers.iter().filter_map(|f| {
                    let uid = f.uid.filter(|u| uids.contains(u))?;
                    f.flags()
                        .any(|fl| flag_text(fl).eq_ignore_ascii_case(keyword))
                        .then_some(uid)
                }));
            }
            marked.sort_unstable();
            marked.dedup();
            Ok(marked.into_iter().map(u64::from).collect())
        })
        .await
    }

    async fn close(&self) {
        let mut guard = self.state.lock().await;
        if let Some(mut open) = guard.take() {
            let _ = timed(self.limit(), "LOGOUT", async {
                open.session.logout().await.map_err(|e| from_imap("LOGOUT", e))
            })
            .await;
        }
    }
}
