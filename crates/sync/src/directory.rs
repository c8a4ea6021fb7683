//! Who an attendee is: CRM users and contacts by e-mail (R-CAL-2), loaded at
//! most once per run so the mapping can stay pure and synchronous, and only
//! by a run that maps something (R-SCALE-2, [`LazyDirectory`]).

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

/// The directory of one run, read from the store the first time the run has
/// something to map (R-SCALE-2). It holds every user, account and contact the
/// CRM has, so reading it costs in proportion to the whole CRM; a run that
/// finds nothing changed maps nothing and must not pay that. Every path that
/// maps (parsing fetched items, mapping CRM records, applying a plan) first
/// awaits [`LazyDirectory::ready`]; the codec's synchronous mapping then
/// reads it with [`LazyDirectory::get`].
pub(crate) struct LazyDirectory {
    source: Option<(RunStores, Actor)>,
    cell: tokio::sync::OnceCell<Directory>,
}

impl LazyDirectory {
    /// Read from `store` for `actor` on the first [`LazyDirectory::ready`].
    pub(crate) fn new(store: &RunStores, actor: &Actor) -> LazyDirectory {
        LazyDirectory {
            source: Some((store.clone(), actor.clone())),
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// One read already (the operator views, which always map).
    pub(crate) fn loaded(directory: Directory) -> LazyDirectory {
        LazyDirectory {
            source: None,
            cell: tokio::sync::OnceCell::new_with(Some(directory)),
        }
    }

    /// Reads the directory unless this run already did.
    pub(crate) async fn ready(&self) -> Result<&Directory, SyncError> {
        self.cell
            .get_or_try_init(|| async {
                let (store, actor) = self.source.as_ref().expect("a directory without a source is loaded");
                Directory::load(store, actor).await
            })
            .await
    }

    /// The directory, once [`LazyDirectory::ready`] returned. Mapping before
    /// it would map attendees against nobody, so that is a bug that must
    /// fail the run loudly rather than write wrong participants.
    pub(crate) fn get(&self) -> &Directory {
        self.cell
            .get()
            .expect("the run mapped before reading its directory: LazyDirectory::ready was not awaited")
    }
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
        let mut users = Pages::<UserFields>::new(None);
        while let Some(page) = users.next(store).await? {
            dir.add_users(page, actor);
        }
        let mut accounts = Pages::<AccountFields>::new(Some(actor.clone()));
        while let Some(page) = accounts.next(store).await? {
            for account in page {
                dir.account_name.insert(account.meta.id.clone(), account.fields.name);
            }
        }
        // Page by page: only each contact's address and name stay.
        let mut contacts = Pages::<ContactFields>::new(None);
        while let Some(page) = contacts.next(store).await? {
            dir.add_contacts(page, actor);
        }
        Ok(dir)
    }

    fn add_users(&mut self, users: Vec<crmsync_model::User>, actor: &Actor) {
        let dir = self;
        for user in users {
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
    }

    fn add_contacts(&mut self, contacts: Vec<crmsync_model::Contact>, actor: &Actor) {
        let dir = self;
        for contact in contacts {
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

/// The records `visible_to` may read (all when `None`), one page at a time,
/// so a caller that keeps a little of each never holds them all.
pub(crate) struct Pages<F> {
    visible_to: Option<Actor>,
    cursor: Option<String>,
    done: bool,
    _entity: std::marker::PhantomData<F>,
}

impl<F: crmsync_store::Entity> Pages<F> {
    pub(crate) fn new(visible_to: Option<Actor>) -> Self {
        Pages {
            visible_to,
            cursor: None,
            done: false,
            _entity: std::marker::PhantomData,
        }
    }

    /// The next page, `None` after the last.
    pub(crate) async fn next(&mut self, store: &RunStores) -> Result<Option<Vec<crmsync_model::Record<F>>>, SyncError> {
        if self.done {
            return Ok(None);
        }
        let q = ListQuery {
            visible_to: self.visible_to.clone(),
            owner_id: None,
            modified_since: None,
            cursor: self.cursor.take(),
            limit: MAX_PAGE,
        };
        let page = store.records().list::<F>(&q).await?;
        self.cursor = page.next_cursor;
        self.done = self.cursor.is_none();
        Ok(Some(page.items))
    }
}
