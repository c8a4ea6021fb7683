//! Which collection of the mailbox a class uses when the profile names one
//! (R-COL-1): by URL, path, folder name or display name, among what
//! discovery found, never created. A name that fits nothing, or more than
//! one collection, or a collection of the wrong kind, stops the run before
//! anything is written, naming what the mailbox has.

use crmsync_connector::{Collection, CollectionKind};
use crmsync_engine::EntityClass;

use crate::SyncError;
use crate::profile::{SyncProfile, collection_kind, collection_name};
use crate::stores::RunStores;

/// How a collection answers to a chosen name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// Its id is the URL's path or the path given (unique).
    Exact,
    /// Its last path segment or its display name is the name.
    Named,
    No,
}

fn fit(collection: &Collection, wanted: &str) -> Fit {
    let path = path_of(wanted);
    let id = collection.id.as_str();
    if trim_slashes(id) == trim_slashes(path) {
        return Fit::Exact;
    }
    if last_segment(id) == wanted || collection.display_name == wanted {
        return Fit::Named;
    }
    Fit::No
}

/// The path of a URL (`https://dav.example/u/book/` → `/u/book/`); a path or name as it is.
fn path_of(wanted: &str) -> &str {
    match wanted.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => wanted,
    }
}

fn trim_slashes(s: &str) -> &str {
    s.trim_matches('/')
}

/// The last segment of a collection id: `contacts` of `/crm/contacts/` and of `contacts`.
pub(crate) fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

/// Whether a remembered collection is still the one the profile names, so a
/// run can skip discovery (R-SYNC-PERF-3) without ignoring a changed choice.
pub(crate) fn still_chosen(remembered: &Collection, wanted: &str) -> bool {
    fit(remembered, wanted) != Fit::No
}

/// What a collection of `kind` is, as the listing and error messages say it.
pub fn describe_kind(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Contacts => "address book",
        CollectionKind::Events => "calendar (VEVENT)",
        CollectionKind::Tasks => "calendar (VTODO)",
        CollectionKind::EventsAndTasks => "calendar (VEVENT, VTODO)",
    }
}

/// What a class needs.
fn needed(class: EntityClass) -> &'static str {
    match class {
        EntityClass::Contacts => "an address book",
        EntityClass::Events => "a calendar with VEVENT",
        _ => "a calendar with VTODO",
    }
}

/// `Name` (/path/), the way messages name a collection.
fn shown(c: &Collection) -> String {
    format!("`{}` ({})", c.display_name, c.id.as_str())
}

/// The collection `class` uses by the profile's choice `wanted`.
pub(crate) fn resolve(
    profile: &SyncProfile,
    class: EntityClass,
    wanted: &str,
    discovered: &[Collection],
) -> Result<Collection, SyncError> {
    let kind = collection_kind(class).expect("only syncable classes have collections");
    let key = format!("collections.{}", collection_name(class));
    let exact: Vec<&Collection> = discovered.iter().filter(|c| fit(c, wanted) == Fit::Exact).collect();
    let hits: Vec<&Collection> = if exact.is_empty() {
        discovered.iter().filter(|c| fit(c, wanted) == Fit::Named).collect()
    } else {
        exact
    };
    let serving: Vec<&Collection> = hits.iter().copied().filter(|c| c.kind.serves(kind)).collect();
    let fail = |message: String| SyncError::Profile {
        profile: profile.name.clone(),
        message: format!(
            "{key} = `{}`: {message}; name one by URL, path or display name \
             (`crmsync collections --profile {}` lists them); nothing was synced",
            wanted.escape_debug(),
            profile.name
        ),
    };
    match serving.as_slice() {
        [one] => Ok((*one).clone()),
        [] if !hits.is_empty() => Err(fail(format!(
            "{} is {}, but {} needs {}",
            hits.iter().map(|c| shown(c)).collect::<Vec<_>>().join(", "),
            describe_kind(hits[0].kind),
            collection_name(class),
            needed(class)
        ))),
        [] => {
            let fitting: Vec<String> = discovered.iter().filter(|c| c.kind.serves(kind)).map(shown).collect();
            let have = if fitting.is_empty() {
                format!("none of the mailbox's collections is {}", needed(class))
            } else {
                format!("{} here: {}", needed(class), fitting.join(", "))
            };
            Err(fail(format!("no such collection; {have}")))
        }
        many => Err(fail(format!(
            "{} collections answer to that name: {}",
            many.len(),
            many.iter().map(|c| shown(c)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Resolves every class's choice before a run writes anything, so a wrong
/// name in `calendar` does not leave contacts synced and calendars not.
fn check_all(profile: &SyncProfile, discovered: &[Collection]) -> Result<(), SyncError> {
    for &class in &profile.classes {
        if collection_kind(class).is_none() {
            continue;
        }
        if let Some(wanted) = profile.collections.get(collection_name(class)) {
            resolve(profile, class, wanted, discovered)?;
        }
    }
    Ok(())
}

/// Every collection the profile names must exist before the run writes
/// anything (R-COL-1). Remembered collections that are still the named ones
/// need no discovery (R-SYNC-PERF-3).
pub(crate) async fn check_choices(
    store: &RunStores,
    profile: &SyncProfile,
    discovered: &mut Option<Vec<Collection>>,
) -> Result<(), SyncError> {
    let mut unsure = false;
    for &class in &profile.classes {
        if collection_kind(class).is_none() {
            continue;
        }
        let name = collection_name(class);
        if let Some(wanted) = profile.collections.get(name) {
            match crate::runner::remembered(store, &profile.name, name).await? {
                Some(known) if still_chosen(&known, wanted) => {}
                Some(known) => {
                    refuse_moved_pairs(store, profile, name, wanted, &known).await?;
                    unsure = true;
                }
                None => unsure = true,
            }
        }
    }
    if unsure {
        let all = discovered.insert(profile.connector.discover().await?);
        check_all(profile, all)?;
    }
    Ok(())
}

/// R-COL-4: a class whose named collection is no longer the one it synced
/// with would see every paired item gone and unlink or delete the records;
/// the run stops instead and says how to move the pairs.
async fn refuse_moved_pairs(
    store: &RunStores,
    profile: &SyncProfile,
    name: &str,
    wanted: &str,
    known: &Collection,
) -> Result<(), SyncError> {
    // Counted by the database, no pair row decoded (R-SCALE-10).
    let paired = store.sync_state().pair_count(&profile.name, name).await?;
    if paired == 0 {
        return Ok(());
    }
    Err(SyncError::Profile {
        profile: profile.name.clone(),
        message: format!(
            "collections.{name} now names `{}`, but {paired} record(s) are paired with items of {} ({}); \
             to move them run `crmsync reset --profile {} --collection {name}` (forgets the pairs, never data; \
             the next sync writes the records into the named collection), or name {} again; nothing was synced",
            wanted.escape_debug(),
            known.id.as_str(),
            known.display_name.escape_debug(),
            profile.name,
            known.id.as_str()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_connector::CollectionId;

    fn c(id: &str, name: &str, kind: CollectionKind) -> Collection {
        Collection {
            id: CollectionId::new(id),
            display_name: name.into(),
            kind,
            content_type: kind.content_type(),
            vcard_version: None,
        }
    }

    #[test]
    fn r_col_1_a_url_a_path_and_a_display_name_all_name_a_collection() {
        let book = c("/user/contacts/addressbook/", "Address book", CollectionKind::Contacts);
        assert_eq!(fit(&book, "https://dav.example/user/contacts/addressbook/"), Fit::Exact);
        assert_eq!(fit(&book, "/user/contacts/addressbook"), Fit::Exact);
        assert_eq!(fit(&book, "addressbook"), Fit::Named);
        assert_eq!(fit(&book, "Address book"), Fit::Named);
        assert_eq!(fit(&book, "calendar"), Fit::No);
        assert_eq!(
            describe_kind(CollectionKind::EventsAndTasks),
            "calendar (VEVENT, VTODO)"
        );
    }
}
