//! Who an attendee is: CRM users and contacts by e-mail (R-CAL-2), loaded once
//! per run so the mapping can stay pure and synchronous.

use std::collections::HashMap;

use crmsync_mapping::ParticipantDirectory;
use crmsync_model::{Access, AccountFields, Actor, ContactFields, Party, PartyKind, UserFields};
use crmsync_store::{ListQuery, MAX_PAGE};

use crate::error::SyncError;
use crate::stores::RunStores;

#[derive(Debug, Default)]
pub(crate) struct Directory {
    user_email: HashMap<String, String>,
    contact_email: HashMap<String, String>,
    by_email: HashMap<String, Party>,
    /// The profile user's own address: their answer to a meeting is theirs (R-CAL-7).
    own_email: Option<String>,
    /// Names of the accounts the user may read: a linked contact's company
    /// is its account's name (R-FIELD-2).
    account_name: HashMap<String, String>,
}

fn fold(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Directory {
    /// Users, then the contacts `actor` may read; a user wins over a contact
    /// with the same address, and the first contact over later ones. The
    /// address of a contact `actor` may not read is still known as an
    /// attendee's address (no name): every participant's copy of a meeting
    /// lists the same attendees (R-CAL-3).
    pub(crate) async fn load(store: &RunStores, actor: &Actor) -> Result<Directory, SyncError> {
        let mut dir = Directory::default();
        for user in list_all::<UserFields>(store, None).await? {
            if user.meta.id == actor.user_id {
                dir.own_email = user.fields.email.clone();
            }
            if let Some(email) = user.fields.email.clone() {
                dir.user_email.insert(user.meta.id.clone(), email.clone());
                dir.by_email.insert(
                    fold(&email),
                    Party {
                        kind: PartyKind::User,
                        id: Some(user.meta.id.clone()),
                        email: Some(email),
                        name: Some(user.fields.name.clone()),
                    },
                );
            }
        }
        for account in list_all::<AccountFields>(store, Some(actor.clone())).await? {
            dir.account_name
                .insert(account.meta.id.clone(), account.fields.name.clone());
        }
        for contact in list_all::<ContactFields>(store, None).await? {
            if let Some(email) = contact.fields.email1.clone() {
                dir.contact_email.insert(contact.meta.id.clone(), email.clone());
                if !contact.readable_by(actor) {
                    continue;
                }
                dir.by_email.entry(fold(&email)).or_insert_with(|| Party {
                    kind: PartyKind::Contact,
                    id: Some(contact.meta.id.clone()),
                    email: Some(email),
                    name: Some(contact.fields.display_name()),
                });
            }
        }
        Ok(dir)
    }
}

impl Directory {
    /// The profile user's own address, when the CRM knows one.
    pub(crate) fn own_email(&self) -> Option<&str> {
        self.own_email.as_deref()
    }

    /// The name of account `id`, when the user may read it.
    pub(crate) fn account_name(&self, id: &str) -> Option<&str> {
        self.account_name.get(id).map(String::as_str)
    }
}

impl ParticipantDirectory for Directory {
    fn email_of(&self, party: &Party) -> Option<String> {
        let by_id = |map: &HashMap<String, String>| party.id.as_ref().and_then(|id| map.get(id).cloned());
        match party.kind {
            PartyKind::User => by_id(&self.user_email),
            PartyKind::Contact => by_id(&self.contact_email),
            PartyKind::Lead | PartyKind::Email => None,
        }
        .or_else(|| party.email.clone())
    }

    fn party_for_email(&self, email: &str) -> Party {
        self.by_email.get(&fold(email)).cloned().unwrap_or_else(|| Party {
            kind: PartyKind::Email,
            id: None,
            email: Some(email.to_string()),
            name: None,
        })
    }
}

/// Every record `visible_to` may read (all when `None`), page by page.
pub(crate) async fn list_all<F: crmsync_store::Entity>(
    store: &RunStores,
    visible_to: Option<Actor>,
) -> Result<Vec<crmsync_model::Record<F>>, SyncError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let q = ListQuery {
            visible_to: visible_to.clone(),
            owner_id: None,
            modified_since: None,
            cursor,
            limit: MAX_PAGE,
        };
        let page = store.records().list::<F>(&q).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}
