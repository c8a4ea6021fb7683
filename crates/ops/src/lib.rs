//! The operator's view of sync, shared by the API routes and the CLI: which
//! profiles exist ([`directory`]), how each is doing ([`status`]), held
//! conflicts ([`conflicts`]), duplicates reports ([`duplicates`]), resets
//! ([`reset`]) and what to do when a run fails ([`failure`]).

pub mod catalog_directory;
pub mod conflicts;
pub mod directory;
pub mod duplicates;
pub mod failure;
pub mod reset;
pub mod status;

pub use catalog_directory::CatalogDirectory;
pub use conflicts::ConflictView;
pub use directory::{ProfileDirectory, ProfileError, ProfileInfo, ProfileSource};
pub use duplicates::{CollectionDuplicates, DuplicatesReport};
pub use failure::{explains_nothing, what_to_do};
pub use reset::{ResetReport, check_collection};
pub use status::{ProfileStatus, RunView, ScheduleView, profile_status};
