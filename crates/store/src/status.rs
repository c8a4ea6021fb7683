//! The sync status store (SPEC §1 "Pair", R-SAFE-1/2, R-EXPLAIN-1): what sync
//! knows between runs, on the same database and code path as the CRM store.
//!
//! - pairs: one CRM record ↔ one groupware item per profile and collection,
//!   with both versions, the agreed base and the last raw item (R-MAP-6);
//! - cursors: the CRM change-log position and groupware sync token;
//! - runs and the plan journal, written before a plan is applied;
//! - history: every create, update, delete, conflict and skip with its rule;
//! - mail tracking: watched folders' positions and tracked messages (§10);
//! - conflicts (R-EDIT-3 manual), quarantine (R-SAFE-4), duplicates (R-PAIR-2)
//!   and the duplicates someone chose to keep apart;
//! - participant status: where each profile stands with the appointments in
//!   its user's calendar (R-CAL-3-STATUS), apart from the versioned record;
//! - push subscriptions held on the groupware server (R-SCHED-2).
//!
//! Engine enums (a pair's origin and state) and the store's own (run and
//! step states) are typed fields of the rows; `columns.rs` is the one place
//! that turns them into text and back. Facts and actions stay JSON.

mod batch;
mod collections;
mod columns;
mod conflicts;
mod crm_writes;
mod cursors;
mod history;
mod kept_apart;
pub(crate) mod mail;
mod mail_list;
mod overview;
mod pairs;
mod participants;
mod push_subscriptions;
mod quarantine;
mod run_expiry;
mod run_feed;
mod run_window;
mod runs;

pub use batch::StatusOp;
pub use columns::TextColumn;
pub use conflicts::{ConflictResolution, ConflictRow};
pub use cursors::Cursor;
pub use history::HistoryEntry;
pub use kept_apart::KeptApart;
pub use mail::{MailFolderRow, TrackedMailRow};
pub use mail_list::{ListedMail, RELEASED};
pub use overview::ProfileOverviewRow;
pub use pairs::{PairKey, PairRow};
pub use push_subscriptions::PushSubscriptionRow;
pub use quarantine::{QuarantineRow, RETRY_ETAG};
pub use run_feed::FinishedRun;
pub use run_window::RunTiming;
pub(crate) use runs::CLOSE_DEAD_RUNS;
pub use runs::{JournalStep, RunRow, RunState, StepState};
