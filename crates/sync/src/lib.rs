//! crmsync-sync: the runner between the CRM store and a groupware connector.
//!
//! One run of a profile, per collection (contacts, events, tasks; mail
//! tracking is its own path, the `mail` module):
//! 1. finish what a crashed earlier run left half done ([`recover`]);
//! 2. read what changed on both sides since the cursor ([`crm_side`],
//!    [`groupware_side`]) and reduce both to `FieldMap`s ([`codec`]);
//! 3. ask the engine for a plan; refuse it when the mass-delete guard holds it;
//! 4. journal the plan, then apply it action by action with preconditions
//!    ([`apply`]), committing a pair only after the other side confirmed;
//! 5. re-plan items whose precondition failed (they changed underneath), and
//!    move the cursor only when nothing is left behind.
//!
//! Every step is idempotent and conditional, so a crash anywhere converges on
//! re-run with no duplicate and no lost edit (R-SAFE-1/2).

mod apply;
mod bounded;
mod choice;
mod chunks;
mod codec;
mod collect;
mod compact_ids;
mod crm_side;
mod crm_write;
mod directory;
mod error;
mod faults;
mod groupware_side;
mod history;
mod identity;
mod mail;
pub mod ops;
mod pair_codec;
mod participant_status;
mod pass_keys;
mod pass_reads;
mod prelist;
mod profile;
mod recover;
mod report;
mod runner;
mod stores;
mod stream;

pub use choice::describe_kind;
pub use error::SyncError;
pub use faults::{CrashPoint, Faults};
pub use mail::{MailProfile, MailTracking, UnknownSender};
pub use profile::{DEFAULT_WRITE_CONCURRENCY, SyncProfile, collection_name, write_concurrency_for};
pub use report::{CollectionReport, MappingWork, RunOutcome, RunReport};
pub use runner::{HELD_COUNT, NoProgress, Progress, RunOptions, run_profile};
pub use stores::RunStores;
pub use stream::STREAM_BATCH;
