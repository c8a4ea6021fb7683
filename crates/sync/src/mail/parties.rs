//! Who an address is (R-TRACK-6): a CRM user, else a contact (active ones
//! first), else a lead, else a plain e-mail party. A distribution-list
//! address is one address and so one party. Looked up once per run.

use std::collections::HashMap;

use crmsync_mapping::MailAddress;
use crmsync_model::{Party, PartyKind};
use crmsync_store::Store;

use crate::error::SyncError;

#[derive(Default)]
pub(crate) struct Parties {
    known: HashMap<String, Party>,
}

impl Parties {
    pub(crate) async fn resolve(&mut self, store: &Store, address: &MailAddress) -> Result<Party, SyncError> {
        let key = address.email.trim().to_lowercase();
        if let Some(party) = self.known.get(&key) {
            return Ok(party.clone());
        }
        let party = lookup(store, address).await?;
        self.known.insert(key, party.clone());
        Ok(party)
    }
}

async fn lookup(store: &Store, address: &MailAddress) -> Result<Party, SyncError> {
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
    // Oldest first from the store; a stable sort keeps that among equals.
    contacts.sort_by_key(|c| !c.fields.active);
    if let Some(contact) = contacts.into_iter().next() {
        let name = contact.fields.display_name();
        return Ok(party(PartyKind::Contact, &contact.meta.id, Some(name)));
    }
    if let Some(lead) = store.records().leads_by_email(email).await?.into_iter().next() {
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
