//! What an operator asks of sync besides running it: why a record does or does
//! not sync (R-EXPLAIN-1), forgetting pairs (R-RESET-1), and choosing a side
//! for a held conflict (R-EDIT-3 `manual`).

mod conflicts;
mod explain;
mod reset;

pub use conflicts::{ConflictChoice, resolve_conflict};
pub use explain::{ParticipantLine, RecordExplanation, explain_record};
pub use reset::{ResetScope, reset};
