//! What an operator asks of sync besides running it: why a record does or does
//! not sync (R-EXPLAIN-1), forgetting pairs (R-RESET-1), choosing a side
//! for a held conflict (R-EDIT-3 `manual`) and untracking (R-DEL-13).

mod collections;
mod conflicts;
mod explain;
mod field_values;
mod reset;
mod untrack;

pub use collections::{ClassCollection, CollectionEntry, CollectionListing, list_collections};
pub use conflicts::{
    ConflictChoice, holds_own_value, merged_fields_mismatch, resolve_conflict, resolve_conflict_editing,
};
pub use explain::{HistoryLine, ParticipantLine, RecordExplanation, explain_record};
pub use field_values::{FieldValues, ReplacedBecause, Side};
pub use reset::{ResetScope, forget_pairs, reset};
pub use untrack::{UntrackError, UntrackReport, stop_tracking};
