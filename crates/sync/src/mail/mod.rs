//! E-mail tracking (SPEC §10, R-MAP-3): the Mail class of a run. Messages a
//! trigger selects (tracking folder, keyword, reply to a tracked message) are
//! fetched once and become one CRM e-mail each (R-TRACK-5); the mailbox gets
//! `$CRMTracked` (R-TRACK-9). Nothing is ever deleted on either side
//! (R-DEL-12): a message that leaves the folder or loses the keyword is
//! untracked and its CRM e-mail stays (R-DEL-13, R-TRACK-10).

mod activity;
mod parties;
mod run;
mod sender;

use std::sync::Arc;

use crmsync_connector::MailSource;

pub use crmsync_connector::{MailTracking, UnknownSender};
pub(crate) use run::{MailRun, run_mail};

/// A profile's mail side: where the mail is and what tracks it.
#[derive(Clone)]
pub struct MailProfile {
    pub source: Arc<dyn MailSource>,
    pub tracking: MailTracking,
}

impl std::fmt::Debug for MailProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The source may hold credentials: never print it.
        f.debug_struct("MailProfile")
            .field("tracking", &self.tracking)
            .finish_non_exhaustive()
    }
}
