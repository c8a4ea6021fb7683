//! Who an attendee is (CRM users and contacts by e-mail, R-CAL-2) and what a
//! linked contact's company is called (R-FIELD-2), looked up for one batch
//! at a time: before a batch is mapped the runner says what it will ask
//! ([`Needs`]), [`BatchDirectory::prepare`] reads those rows in a few
//! batched queries, and the mapping, pure and synchronous, asks the
//! [`Directory`] (R-SCALE-8). A run holds what one batch needs, never the
//! whole CRM, and a run that maps nothing reads none of it (R-SCALE-2).

use std::collections::{BTreeSet, HashMap};
use std::sync::{RwLock, RwLockReadGuard};

use crmsync_mapping::ParticipantDirectory;
use crmsync_model::{
    Access, AccountFields, ActivityFields, Actor, ContactFields, FieldMap, Party, PartyKind, UserFields,
};
use crmsync_store::StoreError;

use crate::codec::CrmRecord;
use crate::stores::RunStores;

/// The keys a batch's mapping will ask the directory about: participants'
/// party ids, contacts' account ids and attendee addresses (folded).
#[derive(Debug, Default, Clone)]
pub(crate) struct Needs {
    users: BTreeSet<String>,
    contacts: BTreeSet<String>,
    accounts: BTreeSet<String>,
    emails: BTreeSet<String>,
}

impl Needs {
    /// What mapping `record` to fields asks: its account's name (a contact)
    /// or its participants' addresses (an activity).
    pub(crate) fn of_record(&mut self, record: &CrmRecord) {
        match record {
            CrmRecord::Contact(c) => self.accounts.extend(c.fields.account_id.iter().cloned()),
            CrmRecord::Activity(a) => self.of_activity(&a.fields),
        }
    }

    /// The parties of an activity's participants, by id.
    pub(crate) fn of_activity(&mut self, activity: &ActivityFields) {
        for party in activity.participants.iter().map(|p| &p.party) {
            let Some(id) = party.id.clone() else { continue };
            match party.kind {
                PartyKind::User => self.users.insert(id),
                PartyKind::Contact => self.contacts.insert(id),
                PartyKind::Lead | PartyKind::Email => false,
            };
        }
    }

    /// The attendee addresses `fields` lists: mapping them into the CRM or
    /// rendering them asks who each address is.
    pub(crate) fn of_fields(&mut self, fields: &FieldMap) {
        self.emails
            .extend(crmsync_mapping::participant_emails(fields).iter().map(|e| fold(e)));
    }

    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.contacts.is_empty() && self.accounts.is_empty() && self.emails.is_empty()
    }

    /// What of `self` the directory `asked` has not looked up.
    fn without(&self, asked: &Needs) -> Needs {
        let rest = |mine: &BTreeSet<String>, known: &BTreeSet<String>| mine.difference(known).cloned().collect();
        Needs {
            users: rest(&self.users, &asked.users),
            contacts: rest(&self.contacts, &asked.contacts),
            accounts: rest(&self.accounts, &asked.accounts),
            emails: rest(&self.emails, &asked.emails),
        }
    }

    fn add(&mut self, other: Needs) {
        self.users.extend(other.users);
        self.contacts.extend(other.contacts);
        self.accounts.extend(other.accounts);
        self.emails.extend(other.emails);
    }
}

/// What one batch looked up. Asking it about a key the batch did not name
/// in its [`Needs`] is a bug in the runner, not an unknown party: it panics
/// (the scheduler turns that into a failed run, R-SVC-2) rather than map an
/// attendee against nobody and write wrong participants.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    asked: Needs,
    /// Whether the profile user's own row was read (`own_email` may be `None`
    /// because the user has no address).
    own_read: bool,
    /// The profile user's own address: their answer to a meeting is theirs (R-CAL-7).
    own_email: Option<String>,
    user_email: HashMap<String, String>,
    contact_email: HashMap<String, String>,
    by_email: HashMap<String, Party>,
    /// Names of the accounts the user may read: a linked contact's company
    /// is its account's name (R-FIELD-2).
    account_name: HashMap<String, String>,
}

impl Directory {
    /// Copies the profile user's own row, when this batch read it, into
    /// `next` exactly as [`Directory::fill`] with `with_own` would; false
    /// when it was not read yet.
    fn carry_own_into(&self, next: &mut Directory, actor: &Actor) -> bool {
        if !self.own_read {
            return false;
        }
        next.own_read = true;
        next.own_email = self.own_email.clone();
        if let Some(email) = self.user_email.get(&actor.user_id) {
            next.user_email.insert(actor.user_id.clone(), email.clone());
        }
        next.asked.users.insert(actor.user_id.clone());
        true
    }
}

fn fold(email: &str) -> String {
    email.trim().to_lowercase()
}

fn unasked(what: &str, key: &str) -> ! {
    panic!("the run mapped {what} {key:?} it did not look up first: its batch's directory Needs lack it (R-SCALE-8)")
}

impl Directory {
    /// Reads what `needs` names (plus the profile user when `with_own`) in
    /// one query per kind; returns how many rows that read.
    async fn fill(
        &mut self,
        store: &RunStores,
        actor: &Actor,
        mut needs: Needs,
        with_own: bool,
    ) -> Result<usize, StoreError> {
        let records = store.records();
        let mut rows = 0;
        if with_own {
            needs.users.insert(actor.user_id.clone());
        }
        if !needs.users.is_empty() {
            let ids: Vec<String> = needs.users.iter().cloned().collect();
            let users = records.get_many::<UserFields>(&ids).await?;
            rows += users.len();
            for user in users {
                if with_own && user.meta.id == actor.user_id {
                    self.own_email = user.fields.email.clone();
                }
                if let Some(email) = user.fields.email {
                    self.user_email.insert(user.meta.id, email);
                }
            }
            self.own_read |= with_own;
        }
        if !needs.contacts.is_empty() {
            let ids: Vec<String> = needs.contacts.iter().cloned().collect();
            let contacts = records.get_many::<ContactFields>(&ids).await?;
            rows += contacts.len();
            for contact in contacts {
                // Known by address even when the actor may not read it:
                // every participant's copy lists the same attendees (R-CAL-3).
                if let Some(email) = contact.fields.email1 {
                    self.contact_email.insert(contact.meta.id, email);
                }
            }
        }
        if !needs.accounts.is_empty() {
            let ids: Vec<String> = needs.accounts.iter().cloned().collect();
            let accounts = records.get_many::<AccountFields>(&ids).await?;
            rows += accounts.len();
            for account in accounts.into_iter().filter(|a| a.readable_by(actor)) {
                self.account_name.insert(account.meta.id, account.fields.name);
            }
        }
        needs.emails.retain(|e| !e.is_empty());
        if !needs.emails.is_empty() {
            rows += self.fill_by_email(store, actor, &needs.emails).await?;
        }
        self.asked.add(needs);
        Ok(rows)
    }

    /// Who each of `emails` (folded) is: a user wins over a contact with the
    /// same address, and among contacts the one `actor` may read that comes
    /// first in the order the whole directory used to be read in (modified,
    /// then id); among users, as then, the last. A contact `actor` may not
    /// read gives no party (R-CAL-2, R-CAL-3).
    async fn fill_by_email(
        &mut self,
        store: &RunStores,
        actor: &Actor,
        emails: &BTreeSet<String>,
    ) -> Result<usize, StoreError> {
        let list: Vec<String> = emails.iter().cloned().collect();
        let mut users = store.records().users_by_emails(&list).await?;
        let mut contacts = store.records().contacts_by_emails(&list).await?;
        let rows = users.values().map(Vec::len).sum::<usize>() + contacts.values().map(Vec::len).sum::<usize>();
        let load_order = |a: &crmsync_model::RecordMeta, b: &crmsync_model::RecordMeta| {
            (a.modified_at, &a.id).cmp(&(b.modified_at, &b.id))
        };
        for key in emails {
            let user = users.remove(key).and_then(|mut found| {
                found.retain(|u| u.fields.email.as_deref().map(fold).as_ref() == Some(key));
                found.into_iter().max_by(|a, b| load_order(&a.meta, &b.meta))
            });
            if let Some(user) = user {
                self.by_email.insert(
                    key.clone(),
                    Party {
                        kind: PartyKind::User,
                        id: Some(user.meta.id.clone()),
                        email: user.fields.email.clone(),
                        name: Some(user.fields.name.clone()),
                    },
                );
                continue;
            }
            // Any of a contact's addresses finds it; only the first is its
            // attendee address.
            let contact = contacts.remove(key).and_then(|mut found| {
                found.retain(|c| c.readable_by(actor) && c.fields.email1.as_deref().map(fold).as_ref() == Some(key));
                found.into_iter().min_by(|a, b| load_order(&a.meta, &b.meta))
            });
            if let Some(contact) = contact {
                self.by_email.insert(
                    key.clone(),
                    Party {
                        kind: PartyKind::Contact,
                        id: Some(contact.meta.id.clone()),
                        email: contact.fields.email1.clone(),
                        name: Some(contact.fields.display_name()),
                    },
                );
            }
        }
        Ok(rows)
    }

    /// `other`'s lookups beside these: their keys are ones these lack.
    fn merge(&mut self, other: Directory) {
        self.asked.add(other.asked);
        if other.own_read {
            self.own_read = true;
            self.own_email = other.own_email;
        }
        self.user_email.extend(other.user_email);
        self.contact_email.extend(other.contact_email);
        self.by_email.extend(other.by_email);
        self.account_name.extend(other.account_name);
    }

    /// The profile user's own address, when the CRM knows one.
    pub(crate) fn own_email(&self) -> Option<&str> {
        if !self.own_read {
            unasked("the profile user's address", "");
        }
        self.own_email.as_deref()
    }

    /// The name of account `id`, when the user may read it.
    pub(crate) fn account_name(&self, id: &str) -> Option<&str> {
        if !self.asked.accounts.contains(id) {
            unasked("account", id);
        }
        self.account_name.get(id).map(String::as_str)
    }
}

impl ParticipantDirectory for Directory {
    fn email_of(&self, party: &Party) -> Option<String> {
        let by_id = |what: &str, asked: &BTreeSet<String>, map: &HashMap<String, String>| {
            let id = party.id.as_ref()?;
            if !asked.contains(id) {
                unasked(what, id);
            }
            map.get(id).cloned()
        };
        match party.kind {
            PartyKind::User => by_id("user", &self.asked.users, &self.user_email),
            PartyKind::Contact => by_id("contact", &self.asked.contacts, &self.contact_email),
            PartyKind::Lead | PartyKind::Email => None,
        }
        .or_else(|| party.email.clone())
    }

    fn party_for_email(&self, email: &str) -> Party {
        let key = fold(email);
        if !key.is_empty() && !self.asked.emails.contains(&key) {
            unasked("address", email);
        }
        self.by_email.get(&key).cloned().unwrap_or_else(|| Party {
            kind: PartyKind::Email,
            id: None,
            email: Some(email.to_string()),
            name: None,
        })
    }
}

/// The directory of the batch being mapped, for one run (or one operator
/// view). [`BatchDirectory::prepare`] replaces it with a new batch's
/// lookups, so it never holds more than one batch's parties (R-SCALE-8);
/// [`BatchDirectory::top_up`] adds what an item found only while applying
/// (the CRM record it rewrites). Behind a lock because a chunk's items are
/// applied concurrently (R-SYNC-PERF-2); the mapping reads it through
/// [`BatchDirectory::get`] and never awaits while it does.
pub(crate) struct BatchDirectory {
    store: RunStores,
    actor: Actor,
    current: RwLock<Directory>,
}

impl BatchDirectory {
    /// Reads from `store` for `actor`, nothing yet.
    pub(crate) fn new(store: &RunStores, actor: &Actor) -> BatchDirectory {
        BatchDirectory {
            store: store.clone(),
            actor: actor.clone(),
            current: RwLock::new(Directory::default()),
        }
    }

    /// Forgets the previous batch's lookups and reads what `needs` names,
    /// with the profile user's own address; returns the rows read.
    pub(crate) async fn prepare(&self, needs: Needs) -> Result<usize, StoreError> {
        let mut fresh = Directory::default();
        // The profile user's own row is read once per run, as the whole
        // directory was: later batches carry it over instead of reading it
        // again, with what that read would have put in.
        let with_own = !self.get().carry_own_into(&mut fresh, &self.actor);
        let rows = fresh.fill(&self.store, &self.actor, needs, with_own).await?;
        *self.current.write().expect("the directory lock is never poisoned") = fresh;
        Ok(rows)
    }

    /// Reads what `needs` names and the batch has not looked up yet (none
    /// of it when it has all); returns the rows read.
    pub(crate) async fn top_up(&self, needs: Needs) -> Result<usize, StoreError> {
        let missing = needs.without(&self.get().asked);
        if missing.is_empty() {
            return Ok(0);
        }
        let mut extra = Directory::default();
        let rows = extra.fill(&self.store, &self.actor, missing, false).await?;
        self.current
            .write()
            .expect("the directory lock is never poisoned")
            .merge(extra);
        Ok(rows)
    }

    /// The current batch's directory. Hold it only while mapping: a
    /// `prepare` or `top_up` waits for it.
    pub(crate) fn get(&self) -> RwLockReadGuard<'_, Directory> {
        self.current.read().expect("the directory lock is never poisoned")
    }
}
