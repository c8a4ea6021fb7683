//! R-TRACK-3: what a tracked e-mail, appointment or task becomes when it is
//! converted into an opportunity, lead or case. Pure: the store writes the
//! result and links the activity to it in one transaction.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::activity::{ActivityFields, Party, PartyKind};
use crate::email::EmailDirection;
use crate::record::{EntityKind, Id, Validate, ValidationError};
use crate::{CaseFields, LeadFields, OpportunityFields};

/// What an activity can be converted into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConvertTarget {
    Opportunity,
    Lead,
    Case,
}

impl ConvertTarget {
    pub fn entity(self) -> EntityKind {
        match self {
            ConvertTarget::Opportunity => EntityKind::Opportunity,
            ConvertTarget::Lead => EntityKind::Lead,
            ConvertTarget::Case => EntityKind::Case,
        }
    }
}

/// The new record's fields, of the target's type.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvertedFields {
    Opportunity(OpportunityFields),
    Lead(LeadFields),
    Case(CaseFields),
}

impl ConvertedFields {
    /// R-TRACK-3-DRAFT: the record an activity becomes before the caller's
    /// own values are laid over it: the subject as title (a lead, which has
    /// no title, keeps it in its notes), the description, and the contact
    /// and account it concerns. A lead takes its name and address from the
    /// one outside party (the sender of an incoming e-mail).
    pub fn draft(to: ConvertTarget, source: &ActivityFields, account_id: Option<Id>) -> ConvertedFields {
        let title = source.subject.trim().to_owned();
        let description = source.description.clone().filter(|d| !d.trim().is_empty());
        let contact_id = single_contact(source);
        match to {
            ConvertTarget::Opportunity => ConvertedFields::Opportunity(OpportunityFields {
                title,
                description,
                account_id,
                contact_id,
                ..OpportunityFields::default()
            }),
            ConvertTarget::Case => ConvertedFields::Case(CaseFields {
                title,
                description,
                account_id,
                contact_id,
                ..CaseFields::default()
            }),
            ConvertTarget::Lead => {
                let party = lead_party(source);
                let (first_name, last_name) = party
                    .and_then(|p| p.name.as_deref())
                    .map(split_name)
                    .unwrap_or_default();
                let notes = match description {
                    Some(d) => format!("{title}\n\n{d}"),
                    None => title,
                };
                ConvertedFields::Lead(LeadFields {
                    first_name,
                    last_name,
                    email: party.and_then(|p| p.email.clone()),
                    notes: Some(notes).filter(|n| !n.trim().is_empty()),
                    ..LeadFields::default()
                })
            }
        }
    }

    pub fn entity(&self) -> EntityKind {
        match self {
            ConvertedFields::Opportunity(_) => EntityKind::Opportunity,
            ConvertedFields::Lead(_) => EntityKind::Lead,
            ConvertedFields::Case(_) => EntityKind::Case,
        }
    }
}

impl Validate for ConvertedFields {
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            ConvertedFields::Opportunity(f) => f.validate(),
            ConvertedFields::Lead(f) => f.validate(),
            ConvertedFields::Case(f) => f.validate(),
        }
    }
}

/// Every party the activity names: participants, and an e-mail's From, To and Cc.
fn parties(source: &ActivityFields) -> impl Iterator<Item = &Party> {
    let email = source
        .email
        .iter()
        .flat_map(|e| e.from.iter().chain(&e.to).chain(&e.cc));
    source.participants.iter().map(|p| &p.party).chain(email)
}

/// The CRM contact the activity concerns, when it names exactly one.
pub fn single_contact(source: &ActivityFields) -> Option<Id> {
    let mut ids: Vec<&Id> = parties(source)
        .filter(|p| p.kind == PartyKind::Contact)
        .filter_map(|p| p.id.as_ref())
        .collect();
    ids.sort();
    ids.dedup();
    match ids.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

/// Who a lead made from the activity is: the sender of an incoming e-mail,
/// else the one party that is no CRM user; none when there are several.
fn lead_party(source: &ActivityFields) -> Option<&Party> {
    if let Some(email) = &source.email
        && email.direction == EmailDirection::Incoming
        && let Some(from) = email.from.as_ref().filter(|p| p.kind != PartyKind::User)
    {
        return Some(from);
    }
    // One person is often named twice: as a participant and in a header.
    let same = |a: &Party, b: &Party| {
        (a.id.is_some() && a.id == b.id)
            || a.email
                .as_deref()
                .zip(b.email.as_deref())
                .is_some_and(|(x, y)| x.eq_ignore_ascii_case(y))
    };
    let mut outside: Vec<&Party> = Vec::new();
    for party in parties(source).filter(|p| p.kind != PartyKind::User) {
        if !outside.iter().any(|o| same(o, party)) {
            outside.push(party);
        }
    }
    match outside.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// "Ada King Lovelace" → (Some("Ada King"), Some("Lovelace")); one word is a last name.
fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let name = name.trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
        None if name.is_empty() => (None, None),
        None => (None, Some(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::{ActivityKind, Participant};
    use crate::email::EmailDetails;

    fn party(kind: PartyKind, id: Option<&str>, email: Option<&str>, name: Option<&str>) -> Party {
        Party {
            kind,
            id: id.map(str::to_owned),
            email: email.map(str::to_owned),
            name: name.map(str::to_owned),
        }
    }

    fn incoming(from: Party, to: Vec<Party>) -> ActivityFields {
        let mut a = ActivityFields::new(ActivityKind::Email, "  Pricing for 40 seats ");
        a.email = Some(EmailDetails {
            direction: EmailDirection::Incoming,
            from: Some(from),
            to,
            cc: Vec::new(),
            sent_at: None,
            received_at: None,
            text_body: None,
            html_body: None,
            attachments: Vec::new(),
            in_reply_to: Vec::new(),
            references: Vec::new(),
        });
        a
    }

    #[test]
    fn r_track_3_draft_takes_the_subject_as_title_and_the_one_contact() {
        let mail = incoming(
            party(
                PartyKind::Contact,
                Some("c1"),
                Some("ada@example.com"),
                Some("Ada Lovelace"),
            ),
            vec![party(PartyKind::User, Some("u1"), Some("alice@example.org"), None)],
        );
        let ConvertedFields::Opportunity(o) =
            ConvertedFields::draft(ConvertTarget::Opportunity, &mail, Some("a1".into()))
        else {
            panic!("an opportunity")
        };
        assert_eq!(o.title, "Pricing for 40 seats");
        assert_eq!(o.contact_id.as_deref(), Some("c1"));
        assert_eq!(o.account_id.as_deref(), Some("a1"));
    }

    #[test]
    fn r_track_3_draft_concerns_no_contact_when_there_are_two() {
        let mut task = ActivityFields::new(ActivityKind::Task, "Follow up");
        for id in ["c1", "c2"] {
            task.participants.push(Participant {
                party: party(PartyKind::Contact, Some(id), None, None),
                role: Default::default(),
                invite: false,
                response: Default::default(),
                sync_status: Default::default(),
            });
        }
        let ConvertedFields::Case(c) = ConvertedFields::draft(ConvertTarget::Case, &task, None) else {
            panic!("a case")
        };
        assert_eq!(c.contact_id, None);
    }

    #[test]
    fn r_track_3_a_lead_from_an_incoming_mail_is_its_sender() {
        let mail = incoming(
            party(
                PartyKind::Email,
                None,
                Some("grace@navy.example"),
                Some("Grace Brewster Hopper"),
            ),
            vec![
                party(PartyKind::User, Some("u1"), None, None),
                party(PartyKind::Email, None, Some("other@example.com"), None),
            ],
        );
        let draft = ConvertedFields::draft(ConvertTarget::Lead, &mail, None);
        let ConvertedFields::Lead(l) = &draft else {
            panic!("a lead")
        };
        assert_eq!(l.first_name.as_deref(), Some("Grace Brewster"));
        assert_eq!(l.last_name.as_deref(), Some("Hopper"));
        assert_eq!(l.email.as_deref(), Some("grace@navy.example"));
        assert_eq!(l.notes.as_deref(), Some("Pricing for 40 seats"));
        assert!(draft.validate().is_ok());
    }

    #[test]
    fn r_track_3_a_lead_from_a_task_without_a_person_needs_a_name_from_the_caller() {
        let task = ActivityFields::new(ActivityKind::Task, "Cold call list");
        let draft = ConvertedFields::draft(ConvertTarget::Lead, &task, None);
        assert_eq!(draft.validate().unwrap_err().field, "last_name");
    }
}
