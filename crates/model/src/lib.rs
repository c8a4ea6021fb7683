//! The CRM's records as crmsync understands them (SPEC §1), with no I/O.
//!
//! Every record is a [`Record`]: the metadata every entity shares ([`RecordMeta`]:
//! id, owner, timestamps, version) plus the entity's editable fields. Stores,
//! the HTTP API, the mapping and the sync engine all speak these types; nothing
//! here knows about databases, HTTP or files.

pub mod account;
pub mod activity;
pub mod case;
pub mod change;
pub mod contact;
pub mod convert;
pub mod email;
pub mod fields;
pub mod lead;
pub mod opportunity;
pub mod permission;
pub mod record;
pub mod user;

pub use account::AccountFields;
pub use activity::{
    ActivityFields, ActivityKind, ActivityState, JournalEntry, MAX_RECURRENCE_INSTANCES, NewJournalEntry,
    OccurrenceOverride, Participant, ParticipantRole, ParticipantSyncStatus, Party, PartyKind, Privacy, Recurrence,
    ResponseStatus,
};
pub use case::{CaseFields, CasePriority, CaseState};
pub use change::{Change, ChangeOp};
pub use contact::{Address, ContactFields};
pub use convert::{ConvertTarget, ConvertedFields};
pub use email::{EmailAttachment, EmailDetails, EmailDirection, normalize_message_id};
pub use fields::FieldMap;
pub use lead::{LeadFields, LeadStatus};
pub use opportunity::{OpportunityFields, OpportunityState};
pub use permission::{Access, Actor};
pub use record::{EntityKind, Record, RecordMeta, RecordRef, Validate, ValidationError};
pub use user::{Role, UserFields};

/// A stored account (company).
pub type Account = Record<AccountFields>;
/// A stored contact.
pub type Contact = Record<ContactFields>;
/// A stored lead.
pub type Lead = Record<LeadFields>;
/// A stored opportunity.
pub type Opportunity = Record<OpportunityFields>;
/// A stored case.
pub type Case = Record<CaseFields>;
/// A stored activity of any of the six kinds.
pub type Activity = Record<ActivityFields>;
/// A stored CRM user.
pub type User = Record<UserFields>;
