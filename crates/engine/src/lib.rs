//! crmsync's sync engine: pure planning, no I/O, no clocks.
//!
//! Given a profile's rules, `now` and one collection's snapshots (pairs with
//! what changed on each side, plus unpaired records and items), [`plan`]
//! returns a typed [`Plan`]: every write with its precondition, the merged
//! fields, the values it overwrites and the SPEC rule that chose it. The
//! runner applies plans; [`explain`] answers "why" with the same code.

mod aligned;
pub mod class;
pub mod delete_policy;
pub mod deletion;
pub mod error;
pub mod explain;
pub mod facts;
pub mod filter;
mod first_sync;
pub mod guard;
pub mod input;
pub mod limits;
pub mod merge;
mod pair_deletes;
pub mod pairing;
pub mod plan;
mod planner;
pub mod policy;
pub mod rules;
pub mod scope;
pub mod untrack;
pub mod validate;
pub mod window;
mod writes;

pub use class::EntityClass;
pub use delete_policy::{
    ContactDeletes, DeletePolicies, EventDeletes, MailDeletes, OnCrmDelete, OnGroupwareDelete, OnLeavingScope,
    TaskDeletes,
};
pub use error::EngineError;
pub use explain::{Explanation, ItemRef, explain};
pub use facts::{ActivityFacts, CrmFacts};
pub use filter::{Condition, Filter, Scope};
pub use input::{
    CollectionInput, CrmRecord, CrmSide, GroupwareItem, GroupwareSide, Hidden, Origin, PairState, PairStatus,
    PairedItem,
};
pub use plan::{
    Action, ActionKind, DuplicateGroup, FieldConflict, FieldWrite, MassDeleteHold, Plan, Precondition, Side, Subject,
    Target, Warning, WriteReason,
};
pub use planner::plan;
pub use policy::{
    AccountRights, ConflictPolicy, Direction, EntityPolicy, MassDeleteGuard, Profile, ReadOnlyPolicy, Rights,
};
pub use rules::{RuleId, rule_catalog};
pub use untrack::untrack;
pub use validate::validate_profile;
