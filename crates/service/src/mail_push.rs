//! Push from the mailbox (issue 14 item 7, R-TRACK-MAIL-11): the scheduler
//! holds one watch (IMAP IDLE) per folder a push profile tracks mail in, and
//! a change there makes the profile due at once, as a CRM change does
//! (R-SCHED-2). The process holds at most `max_idle_connections` watches;
//! the folders beyond are polled at the profile's interval, as without push.
//!
//! Which folders are watched follows the catalog: every `refresh` (and at
//! start) the stored profiles are read again, watches of profiles that went
//! (deleted, disabled, push off, settings changed) are ended and new ones
//! opened while slots are free. A watch that fails waits a growing delay
//! before it connects again; the profile is polled meanwhile.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crmsync_connector::{MailWake, MailWatch, OpenOptions, Reach};
use crmsync_connector_registry::ConnectorSpec;
use crmsync_store::ProfileRow;
use tokio::task::AbortHandle;
use tracing::Instrument as _;

use crate::catalog::ProfileCatalog;
use crate::error::ServiceError;
use crate::scheduler::Scheduler;

/// `[scheduler]` settings of push from the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPushSettings {
    /// Watches (IDLE connections) this process holds at most; 0 turns push
    /// from the mailbox off.
    pub max_idle_connections: usize,
    /// One IDLE is ended and started again after this long: RFC 2177 lets
    /// a server drop a client idle for 30 minutes.
    pub idle_renew: Duration,
    /// The delay after a watch's first failure; it doubles with each
    /// failure in a row, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How often the watched folders are compared with the stored profiles.
    pub refresh: Duration,
}

impl Default for MailPushSettings {
    fn default() -> Self {
        MailPushSettings {
            max_idle_connections: DEFAULT_MAX_IDLE_CONNECTIONS,
            idle_renew: Duration::from_secs(25 * 60),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            refresh: Duration::from_secs(30),
        }
    }
}

/// `scheduler.max_idle_connections` by default.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 100;
/// `scheduler.max_idle_connections` at most.
pub const MAX_IDLE_CONNECTIONS: u64 = 10_000;

/// What [`Scheduler::refresh_mail_push`] left in place: the folders watched
/// and those polled because every slot was taken, as (profile, folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailPushReport {
    pub watched: Vec<(String, String)>,
    pub polled: Vec<(String, String)>,
}

/// The watches of one scheduler.
#[derive(Debug, Default)]
pub(crate) struct MailPush {
    watches: Mutex<BTreeMap<(String, String), Watching>>,
}

/// One folder's watch task and what it was opened with, so a changed
/// profile gets a new one.
#[derive(Debug)]
struct Watching {
    spec: ConnectorSpec,
    reach: Reach,
    task: AbortHandle,
}

/// A folder a stored profile wants watched.
struct Wanted {
    key: (String, String),
    spec: ConnectorSpec,
    reach: Reach,
}

impl MailPush {
    /// Ends every watch (the scheduler stops).
    pub(crate) fn stop_all(&self) {
        let mut watches = self.watches.lock().expect("watches lock");
        for (_, w) in std::mem::take(&mut *watches) {
            w.task.abort();
        }
    }

    fn count(&self) -> usize {
        self.watches.lock().expect("watches lock").len()
    }
}

impl Scheduler {
    /// Compares the watched folders with the stored profiles: ends the
    /// watches no profile wants any more (or wants with other settings) and
    /// opens new ones up to `max_idle_connections` (R-TRACK-MAIL-11).
    pub async fn refresh_mail_push(&self) -> Result<MailPushReport, ServiceError> {
        let settings = self.mail_push_settings().clone();
        let wanted = wanted_folders(self.catalog()).await?;
        let push = self.mail_push();
        let mut report = MailPushReport::default();
        let mut watches = push.watches.lock().expect("watches lock");
        watches.retain(|key, w| {
            let keep = wanted
                .iter()
                .any(|x| &x.key == key && x.spec == w.spec && x.reach == w.reach);
            if !keep {
                tracing::info!(profile = %key.0, folder = %key.1, "no longer watching the mail folder");
                w.task.abort();
            }
            keep
        });
        for want in wanted {
            if watches.contains_key(&want.key) {
                report.watched.push(want.key);
                continue;
            }
            if watches.len() >= settings.max_idle_connections {
                report.polled.push(want.key);
                continue;
            }
            let (profile, folder) = &want.key;
            let options = OpenOptions {
                create_local_root: false,
                reach: want.reach.clone(),
                // IMAP IDLE only: no delegated sign-in to keep.
                token_vault: None,
            };
            let watch = match want.spec.open_mail_watch(options, folder) {
                Some(Ok(watch)) => watch,
                Some(Err(e)) => {
                    // The profile's own runs report the same error; it is polled.
                    tracing::warn!(profile = %profile, folder = %folder, error = %e.message, "cannot watch the mail folder");
                    report.polled.push(want.key);
                    continue;
                }
                None => continue,
            };
            let span = tracing::info_span!("mail_watch", profile = %profile, folder = %folder);
            let task = tokio::spawn(watch_folder(self.clone(), profile.clone(), watch).instrument(span));
            tracing::info!(profile = %profile, folder = %folder, "watching the mail folder (IDLE)");
            report.watched.push(want.key.clone());
            watches.insert(
                want.key,
                Watching {
                    spec: want.spec,
                    reach: want.reach,
                    task: task.abort_handle(),
                },
            );
        }
        drop(watches);
        self.metrics().idle_watches(push.count());
        if !report.polled.is_empty() {
            tracing::warn!(
                polled = report.polled.len(),
                max = settings.max_idle_connections,
                "more mail folders to watch than scheduler.max_idle_connections: the rest are polled"
            );
        }
        Ok(report)
    }

    /// Refreshes the watches every `refresh` until aborted.
    pub(crate) async fn keep_mail_push(self) {
        let every = self.mail_push_settings().refresh;
        loop {
            if let Err(e) = self.refresh_mail_push().await {
                tracing::warn!(error = %e, "refreshing the watched mail folders failed; trying again later");
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// The folders of every enabled push profile that tracks e-mail, in the
/// order of the profiles' names (so the same ones get the slots each time).
async fn wanted_folders(catalog: &ProfileCatalog) -> Result<Vec<Wanted>, ServiceError> {
    let rows = catalog.store().catalog().profile_rows(None).await?;
    let mut wanted = Vec::new();
    for row in rows.iter().filter(|r| r.definition.enabled && r.definition.push) {
        match wanted_of(catalog, row).await {
            Ok(Some((spec, reach))) => {
                for folder in spec.mail_watch_folders() {
                    wanted.push(Wanted {
                        key: (row.definition.name.clone(), folder),
                        spec: spec.clone(),
                        reach: reach.clone(),
                    });
                }
            }
            Ok(None) => {}
            // Its runs fail with the same error and say so; nothing to watch.
            Err(e) => {
                tracing::debug!(profile = %row.definition.name, error = %e, "not watching a profile that cannot run")
            }
        }
    }
    Ok(wanted)
}

/// The profile's mail connector and where it may connect (R-SEC-1).
async fn wanted_of(catalog: &ProfileCatalog, row: &ProfileRow) -> Result<Option<(ConnectorSpec, Reach)>, ServiceError> {
    let def = catalog.definition_of(row)?;
    let spec = match def.mail {
        Some(mail) => mail,
        None if def.connector.is_mail_only() => def.connector,
        None => return Ok(None),
    };
    let user = catalog.user(&def.name, &def.user_id).await?;
    Ok(Some((spec, catalog.reach_of(&row.definition.source, &user))))
}

/// Waits on one folder for ever: each change makes the profile due now.
/// A new connection counts as a change (what happened while none was open
/// is unknown), so a failing server is not hammered: the failure count is
/// reset only by a wait that did not connect.
async fn watch_folder(scheduler: Scheduler, profile: String, mut watch: Box<dyn MailWatch>) {
    let settings = scheduler.mail_push_settings().clone();
    let mut failures: u32 = 0;
    let mut connected = false;
    loop {
        match watch.wait(settings.idle_renew).await {
            Ok(wake) => {
                if connected {
                    failures = 0;
                }
                connected = true;
                if wake == MailWake::Changed {
                    tracing::debug!("the mail folder changed: the profile is due now");
                    if let Err(e) = scheduler.notify(std::slice::from_ref(&profile)).await {
                        tracing::warn!(error = %e, "could not mark the profile due; its next poll finds the mail");
                    }
                }
            }
            Err(e) => {
                connected = false;
                failures = failures.saturating_add(1);
                let delay = retry_delay(&settings, failures);
                tracing::warn!(error = %e, transient = e.is_transient(), failures, retry_in = ?delay, "watching the mail folder failed; the profile is polled meanwhile");
                watch.close().await;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// `retry_base` doubled per failure in a row, at most `retry_max`.
fn retry_delay(settings: &MailPushSettings, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    settings
        .retry_base
        .saturating_mul(1u32 << doublings)
        .min(settings.retry_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_track_mail_11_the_retry_delay_doubles_up_to_its_maximum() {
        let s = MailPushSettings::default();
        let delays: Vec<u64> = [1, 2, 3, 9, 10, 100, u32::MAX]
            .iter()
            .map(|&n| retry_delay(&s, n).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 256, 300, 300, 300]);
    }
}
