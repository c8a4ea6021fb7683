//! What the store needs to know about each of the entity field types.

use crmsync_model::{
    AccountFields, ActivityFields, CaseFields, ContactFields, EntityKind, LeadFields, OpportunityFields, Participant,
    UserFields, Validate,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Who may see a record in [`crate::Records::list`] besides admins (R-PERM-2);
/// mirrors `crmsync_model::Access::readable_by`, but as SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every user (users: names are needed for participants).
    All,
    /// The owner, or everyone when the record is `shared`.
    OwnerOrShared,
    /// The owner, or any user who is a participant.
    OwnerOrParticipant,
}

/// A fields type the store can keep. Sealed: each one has its own table in
/// the migrations.
pub trait Entity: Serialize + DeserializeOwned + Validate + Clone + Send + Sync + 'static + sealed::Sealed {
    const KIND: EntityKind;
    const VISIBILITY: Visibility;

    /// Readable by every user (R-PERM-2).
    fn shared(&self) -> bool {
        false
    }
    /// Lower-cased name for case-insensitive lookups by name.
    fn name_key(&self) -> Option<String>;
    /// The record's e-mail addresses, as entered.
    fn emails(&self) -> Vec<&str> {
        Vec::new()
    }
    fn participants(&self) -> &[Participant] {
        &[]
    }
    /// The participants, for the store to show their sync status on reads
    /// (R-CAL-3-STATUS); `None` for entities without participants.
    fn participants_mut(&mut self) -> Option<&mut Vec<Participant>> {
        None
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crmsync_model::UserFields {}
    impl Sealed for crmsync_model::AccountFields {}
    impl Sealed for crmsync_model::ContactFields {}
    impl Sealed for crmsync_model::LeadFields {}
    impl Sealed for crmsync_model::ActivityFields {}
    impl Sealed for crmsync_model::OpportunityFields {}
    impl Sealed for crmsync_model::CaseFields {}
}

/// The table holding records of `kind` (names fixed by the migrations).
pub(crate) fn table(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "users",
        EntityKind::Account => "accounts",
        EntityKind::Contact => "contacts",
        EntityKind::Lead => "leads",
        EntityKind::Activity => "activities",
        EntityKind::Opportunity => "opportunities",
        EntityKind::Case => "cases",
    }
}

/// Lookups compare trimmed, lower-cased text; both sides go through this.
pub(crate) fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

fn fold_nonempty(s: &str) -> Option<String> {
    Some(fold(s)).filter(|s| !s.is_empty())
}

impl Entity for UserFields {
    const KIND: EntityKind = EntityKind::User;
    const VISIBILITY: Visibility = Visibility::All;
    fn name_key(&self) -> Option<String> {
        fold_nonempty(&self.name)
    }
    fn emails(&self) -> Vec<&str> {
        self.email.as_deref().into_iter().collect()
    }
}

impl Entity for AccountFields {
    const KIND: EntityKind = EntityKind::Account;
    const VISIBILITY: Visibility = Visibility::OwnerOrShared;
    fn shared(&self) -> bool {
        self.shared
    }
    fn name_key(&self) -> Option<String> {
        fold_nonempty(&self.name)
    }
}

impl Entity for ContactFields {
    const KIND: EntityKind = EntityKind::Contact;
    const VISIBILITY: Visibility = Visibility::OwnerOrShared;
    fn shared(&self) -> bool {
        self.shared
    }
    fn name_key(&self) -> Option<String> {
        fold_nonempty(&self.display_name())
    }
    fn emails(&self) -> Vec<&str> {
        ContactFields::emails(self).collect()
    }
}

impl Entity for LeadFields {
    const KIND: EntityKind = EntityKind::Lead;
    const VISIBILITY: Visibility = Visibility::OwnerOrShared;
    fn shared(&self) -> bool {
        self.shared
    }
    fn name_key(&self) -> Option<String> {
        let name = [&self.first_name, &self.last_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        fold_nonempty(&name).or_else(|| self.company.as_deref().and_then(fold_nonempty))
    }
    fn emails(&self) -> Vec<&str> {
        self.email.as_deref().into_iter().collect()
    }
}

impl Entity for ActivityFields {
    const KIND: EntityKind = EntityKind::Activity;
    const VISIBILITY: Visibility = Visibility::OwnerOrParticipant;
    fn name_key(&self) -> Option<String> {
        fold_nonempty(&self.subject)
    }
    fn participants(&self) -> &[Participant] {
        &self.participants
    }
    fn participants_mut(&mut self) -> Option<&mut Vec<Participant>> {
        Some(&mut self.participants)
    }
}

impl Entity for OpportunityFields {
    const KIND: EntityKind = EntityKind::Opportunity;
    const VISIBILITY: Visibility = Visibility::OwnerOrShared;
    fn shared(&self) -> bool {
        self.shared
    }
    fn name_key(&self) -> Option<String> {
        fold_nonempty(&self.title)
    }
}

impl Entity for CaseFields {
    const KIND: EntityKind = EntityKind::Case;
    const VISIBILITY: Visibility = Visibility::OwnerOrShared;
    fn shared(&self) -> bool {
        self.shared
    }
    fn name_key(&self) -> Option<String> {
        fold_nonempty(&self.title)
    }
}
