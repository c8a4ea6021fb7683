//! Who an address is (R-TRACK-6): a CRM user, else a contact (active ones
//! first), else a lead, else a plain e-mail party. A distribution-list
//! address is one address and so one party. Looked up once per run, the
//! addresses of a chunk of messages together (three queries, not three per
//! address). Only records the tracking user may read are candidates
//! (R-TRACK-6-PERM).

use std::collections::HashMap;

use crmsync_mapping::MailAddress;
use crmsync_model::{Access, Actor, Contact, Lead, Party, PartyKind, User};

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
            self.known.insert(key_of(email), party);
        }
    }

    /// Looks up every address of `addresses` not known yet, with one query
    /// per kind of record, so that [`Parties::resolve`] then answers from
    /// memory.
    pub(crate) async fn prefetch(&mut self, store: &RunStores, addresses: &[MailAddress]) -> Result<(), SyncError> {
        let mut wanted: HashMap<String, &MailAddress> = HashMap::new();
        for a in addresses {
            let key = key_of(&a.email);
            if !self.known.contains_key(&key) {
                wanted.entry(key).or_insert(a);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let emails: Vec<String> = wanted.keys().cloned().collect();
        let records = store.records();
        let mut users = records.users_by_emails(&emails).await?;
        let mut contacts = records.contacts_by_emails(&emails).await?;
        let mut leads = records.leads_by_emails(&emails).await?;
        for (key, address) in wanted {
            let found = Found {
                users: users.remove(&key).unwrap_or_default(),
                contacts: contacts.remove(&key).unwrap_or_default(),
                leads: leads.remove(&key).unwrap_or_default(),
            };
            self.known.insert(key, found.party(&self.actor, address));
        }
        Ok(())
    }

    pub(crate) async fn resolve(&mut self, store: &RunStores, address: &MailAddress) -> Result<Party, SyncError> {
        let key = key_of(&address.email);
        if let Some(party) = self.known.get(&key) {
            return Ok(party.clone());
        }
        self.prefetch(store, std::slice::from_ref(address)).await?;
        Ok(self.known.get(&key).cloned().expect("just looked up"))
    }
}

fn key_of(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The records an address names, each kind oldest first.
struct Found {
    users: Vec<User>,
    contacts: Vec<Contact>,
    leads: Vec<Lead>,
}

impl Found {
    /// R-TRACK-6-PERM: a contact or lead the tracking user may not read
    /// (another user's private record) is no candidate: linking it would put
    /// its id and name on an e-mail the user can read, which R-PERM-1
    /// forbids. The address then resolves as if that record did not exist.
    /// Users are readable by all.
    fn party(self, actor: &Actor, address: &MailAddress) -> Party {
        let email = address.email.trim();
        let party = |kind, id: &str, name: Option<String>| Party {
            kind,
            id: Some(id.to_string()),
            email: Some(email.to_string()),
            name: name.or_else(|| address.name.clone()),
        };
        if let Some(user) = self.users.into_iter().next() {
            return party(PartyKind::User, &user.meta.id, Some(user.fields.name));
        }
        let mut contacts = self.contacts;
        contacts.retain(|c| c.readable_by(actor));
        // Oldest first from the store; a stable sort keeps that among equals.
        contacts.sort_by_key(|c| !c.fields.active);
        if let Some(contact) = contacts.into_iter().next() {
            let name = contact.fields.display_name();
            return party(PartyKind::Contact, &contact.meta.id, Some(name));
        }
        if let Some(lead) = self.leads.into_iter().find(|l| l.readable_by(actor)) {
            let name = [&lead.fields.first_name, &lead.fields.last_name]
                .iter()
                .filter_map(|p| p.as_deref())
                .collect::<Vec<_>>()
                .join(" ");
            return party(PartyKind::Lead, &lead.meta.id, Some(name).filter(|n| !n.is_empty()));
        }
        Party {
            kind: PartyKind::Email,
            id: None,
            email: Some(email.to_string()),
            name: address.name.clone(),
        }
    }
}
