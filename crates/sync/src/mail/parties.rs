//! Who an address is (R-TRACK-6): a CRM user, else a contact (active ones
//! first), else a lead, else a plain e-mail party. A distribution-list
//! address is one address and so one party. Looked up once per run. Only
//! records the tracking user may read are candidates (R-TRACK-6-PERM).

use std::collections::HashMap;

use crmsync_mapping::MailAddress;
use crmsync_model::{Access, Actor, Party, PartyKind};

use crate::error::SyncError;
use crate::stores::RunStores;

pub(crate) struct Parties {
    /// The user whose mailbox is tracked.
    actor: Actor,
    known: HashMap<String, Party>,
}

impl Parties {
    pub(crate) fn for_actor(actor: Actor) -> Parties {
        Parties {
            actor,
            known: HashMap::new(),
        }
    }

    /// Remembers what `party`'s address is now (a record made this run).
    pub(crate) fn learn(&mut self, party: Party) {
        if let Some(email) = &party.email {
            self.known.insert(email.trim().to_lowercase(), party);
        }
    }

    pub(crate) async fn resolve(&mut self, store: &RunStores, address: &MailAddress) -> Result<Party, SyncError> {
        let key = address.email.trim().to_lowercase();
        if let Some(party) = self.known.get(&key) {
            return Ok(party.clone());
        }
        let party = lookup(store, &self.actor, address).await?;
        self.known.insert(key, party.clone());
        Ok(party)
    }
}

/// R-TRACK-6-PERM: a contact or lead the tracking user may not read (another
/// user's private record) is no candidate: linking it would put its id and
/// name on an e-mail the user can read, which R-PERM-1 forbids. The address
/// then resolves as if that record did not exist. Users are readable by all.
async fn lookup(store: &RunStores, actor: &Actor, address: &MailAddress) -> Result<Party, SyncError> {
    let email = address.email.trim();
    let party = |kind, id: &str, name: Option<String>| Party {
        kind,
        id: Some(id.to_string()),
        email: Some(email.to_string()),
        name: name.or_else(|| address.name.clone()),
    };
    if let Some(user) = store.records().users_by_email(email).await?.into_iter().next() {
        return Ok(party(PartyKind::User, &user.meta.id, Some(user.fields.name)));
    }
    let mut contacts = store.records().contacts_by_email(email).await?;
    contacts.retain(|c| c.readable_by(actor));
    // Oldest first from the store; a stable sort keeps that among equals.
    contacts.sort_by_key(|c| !c.fields.active);
    if let Some(contact) = contacts.into_iter().next() {
        let name = contact.fields.display_name();
        return Ok(party(PartyKind::Contact, &contact.meta.id, Some(name)));
    }
    let lead = store
        .records()
        .leads_by_email(email)
        .await?
        .into_iter()
        .find(|l| l.readable_by(actor));
    if let Some(lead) = lead {
        let name = [&lead.fields.first_name, &lead.fields.last_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(party(
            PartyKind::Lead,
            &lead.meta.id,
            Some(name).filter(|n| !n.is_empty()),
        ));
    }
    Ok(Party {
        kind: PartyKind::Email,
        id: None,
        email: Some(email.to_string()),
        name: address.name.clone(),
    })
}
