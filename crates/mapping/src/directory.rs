//! How the mapping learns who a participant is without doing I/O itself:
//! the caller passes a directory over the CRM's users and contacts (R-CAL-2).

use crmsync_model::{Party, PartyKind};

pub trait ParticipantDirectory {
    /// The e-mail address a CRM party is invited under, if it has one.
    fn email_of(&self, party: &Party) -> Option<String>;
    /// The CRM user or contact an address belongs to; a bare e-mail party
    /// when none matches (R-CAL-2 keeps unknown attendees).
    fn party_for_email(&self, email: &str) -> Party;
}

/// A directory that knows nobody: parties are their addresses. Useful for
/// tests and for rendering when names do not matter.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmailOnlyDirectory;

impl ParticipantDirectory for EmailOnlyDirectory {
    fn email_of(&self, party: &Party) -> Option<String> {
        party.email.clone()
    }

    fn party_for_email(&self, email: &str) -> Party {
        Party {
            kind: PartyKind::Email,
            id: None,
            email: Some(email.to_string()),
            name: None,
        }
    }
}
