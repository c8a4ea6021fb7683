//! Finding a record to explain by what a user remembers of it (R-WEB-5):
//! a contact's name, company or e-mail, an activity's subject. Only records
//! the user may read are searched (R-PERM-2), through the store's own
//! permission filter.
//!
//! A scan, not an index: it reads at most [`SCANNED`] records per kind, in
//! pages, and compares in memory, case-insensitively. Enough for the
//! dashboard's first slice; a store-side text search replaces it when the
//! figures ask for one.

use crmsync_model::{ActivityFields, Actor, ContactFields};
use crmsync_store::{ListQuery, MAX_PAGE, Store, StoreError};
use serde::Serialize;

/// Records read per kind at most, whatever matches.
pub const SCANNED: usize = 10 * MAX_PAGE as usize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundRecord {
    pub id: String,
    /// `contact` or `activity`.
    pub kind: &'static str,
    /// What the user recognises it by: name and e-mail, or the subject.
    pub label: String,
}

fn contact_label(c: &ContactFields) -> String {
    let name: Vec<&str> = [&c.first_name, &c.last_name]
        .into_iter()
        .filter_map(|s| s.as_deref())
        .collect();
    let mut label = name.join(" ");
    for extra in [&c.company, &c.email1, &c.email2, &c.email3].into_iter().flatten() {
        label.push_str(" · ");
        label.push_str(extra);
    }
    label
}

/// Up to `limit` readable contacts and activities whose label holds `text`.
pub async fn find_records(
    store: &Store,
    actor: &Actor,
    text: &str,
    limit: usize,
) -> Result<Vec<FoundRecord>, StoreError> {
    let needle = text.trim().to_lowercase();
    if needle.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut query = ListQuery {
        visible_to: Some(actor.clone()),
        ..ListQuery::default()
    };
    let mut read = 0;
    loop {
        let page = store.records().list::<ContactFields>(&query).await?;
        read += page.items.len();
        for c in page.items {
            let label = contact_label(&c.fields);
            if label.to_lowercase().contains(&needle) {
                found.push(FoundRecord {
                    id: c.meta.id,
                    kind: "contact",
                    label,
                });
            }
        }
        match page.next_cursor {
            Some(cursor) if read < SCANNED && found.len() < limit => query.cursor = Some(cursor),
            _ => break,
        }
    }
    query.cursor = None;
    read = 0;
    while found.len() < limit {
        let page = store.records().list::<ActivityFields>(&query).await?;
        read += page.items.len();
        for a in page.items {
            if a.fields.subject.to_lowercase().contains(&needle) {
                found.push(FoundRecord {
                    id: a.meta.id,
                    kind: "activity",
                    label: a.fields.subject,
                });
            }
        }
        match page.next_cursor {
            Some(cursor) if read < SCANNED => query.cursor = Some(cursor),
            _ => break,
        }
    }
    found.truncate(limit);
    Ok(found)
}
