//! The operator layer: everything an operator asks of sync besides running
//! it, for the CLI, the API routes and the web dashboard alike. Which
//! profiles exist ([`directory`]), how each is doing ([`status`]), held
//! conflicts ([`conflicts`]), duplicates reports ([`duplicates`]), resets
//! ([`reset`]), why a record syncs or not ([`explain_record`]) and what to do
//! when a run fails ([`failure`]), and converting an activity into an
//! opportunity, lead or case ([`convert`], R-TRACK-3). Run outcomes and schedule states are the
//! status store's enums ([`RunState`], [`ScheduleState`]), never strings.
//!
//! The three actions that need the runner's internals (explain, reset,
//! resolving a conflict) live in `crmsync_sync::ops` and are re-exported
//! here, so callers need this crate only.

pub mod access;
pub mod catalog_directory;
pub mod conflicts;
pub mod connection;
pub mod convert;
pub mod directory;
pub mod duplicates;
pub mod duplicates_resolve;
pub mod emails;
pub mod failure;
pub mod find;
pub mod overview;
pub mod quarantine;
pub mod removed;
pub mod reset;
pub mod status;

pub use access::record_readable;
pub use catalog_directory::CatalogDirectory;
pub use conflicts::ConflictView;
pub use connection::{CheckStep, ConnectionCheck, Endpoint, StepOutcome, check_connection};
pub use convert::{ConvertError, ConvertRequest, Prepared};
pub use directory::{ProfileDirectory, ProfileError, ProfileInfo, ProfileSource};
pub use duplicates::{CollectionDuplicates, DuplicatesReport};
pub use duplicates_resolve::{DuplicatesResolution, ResolveDuplicatesError};
pub use failure::{explains_nothing, what_to_do};
pub use find::{FoundRecord, find_records};
pub use overview::{ProfileOverview, profiles_overview};
pub use quarantine::{RetryError, RetryReport, RetryScope, retry_quarantined};
pub use removed::{RemovedByUser, RestoreError, restore};
pub use reset::{ResetReport, check_collection};
pub use status::{Health, ProfileStatus, RunView, ScheduleView, profile_status};

pub use crmsync_store::ScheduleState;
pub use crmsync_store::status::RunState;
pub use crmsync_sync::ops::{
    ClassCollection, CollectionEntry, CollectionListing, ConflictChoice, FieldValues, HistoryLine, RecordExplanation,
    ResetScope, UntrackError, UntrackReport, explain_record, holds_own_value, list_collections, merged_fields_mismatch,
    reset as reset_pairs, resolve_conflict, resolve_conflict_editing, stop_tracking,
};
