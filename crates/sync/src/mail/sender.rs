//! R-TRACK-2: an incoming tracked e-mail whose sender is no CRM user,
//! contact or lead may make one (`unknown_sender = "contact" | "lead"`).
//! The record is stored with the e-mail, in its transaction
//! ([`crmsync_store::Records::create_email_with_sender`]), so one message
//! makes one record however many mailboxes track it.

use crmsync_model::{ActivityFields, ContactFields, EmailDirection, LeadFields, Party, PartyKind, Validate};
use crmsync_store::{NewSender, NewSenderRecord};

use super::UnknownSender;

/// The record the sender of `fields` becomes, with `fields` already naming
/// it as sender and participant; `None` when the setting is off, the sender
/// is known, or its address would not make a valid record.
pub(crate) fn new_sender(setting: UnknownSender, fields: &mut ActivityFields) -> Option<NewSender> {
    let details = fields.email.as_mut()?;
    let from = details.from.as_ref()?;
    if details.direction != EmailDirection::Incoming || from.kind != PartyKind::Email {
        return None;
    }
    let email = from.email.clone()?;
    let (first_name, last_name) = split_name(from.name.as_deref());
    let (record, kind) = match setting {
        UnknownSender::Off => return None,
        UnknownSender::Contact => {
            let c = ContactFields {
                first_name,
                last_name,
                email1: Some(email.clone()),
                ..ContactFields::default()
            };
            c.validate().ok()?;
            (NewSenderRecord::Contact(Box::new(c)), PartyKind::Contact)
        }
        UnknownSender::Lead => {
            let l = LeadFields {
                first_name,
                last_name,
                email: Some(email.clone()),
                ..LeadFields::default()
            };
            l.validate().ok()?;
            (NewSenderRecord::Lead(l), PartyKind::Lead)
        }
    };
    let sender = NewSender::new(record);
    let same =
        |p: &Party| p.kind == PartyKind::Email && p.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&email));
    let link = |p: &mut Party| {
        if same(p) {
            p.kind = kind;
            p.id = Some(sender.id.clone());
        }
    };
    details
        .from
        .iter_mut()
        .chain(details.to.iter_mut())
        .chain(details.cc.iter_mut())
        .for_each(link);
    fields.participants.iter_mut().map(|p| &mut p.party).for_each(link);
    Some(sender)
}

/// "Carla Kunde" → (Carla, Kunde); one word is the last name; "Kunde,
/// Carla" is read as last name first.
fn split_name(name: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return (None, None);
    };
    if let Some((last, first)) = name.split_once(',') {
        let part = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        return (part(first), part(last));
    }
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.trim().to_string()), Some(last.to_string())),
        None => (None, Some(name.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_first_and_last() {
        let s = |n: Option<&str>| split_name(n);
        assert_eq!(s(Some("Carla Kunde")), (Some("Carla".into()), Some("Kunde".into())));
        assert_eq!(
            s(Some("Anna Maria Weber")),
            (Some("Anna Maria".into()), Some("Weber".into()))
        );
        assert_eq!(s(Some("Kunde, Carla")), (Some("Carla".into()), Some("Kunde".into())));
        assert_eq!(s(Some("Support")), (None, Some("Support".into())));
        assert_eq!(s(Some("  ")), (None, None));
    }
}
