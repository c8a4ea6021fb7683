//! The test server's mailbox: folders of contacts, calendars and To Do lists,
//! their items as Graph JSON, and one change sequence that delta tokens point
//! into. Pure state, no HTTP: `routes.rs` translates requests into calls here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::series::{self, Occurrences, SeriesError};

/// The three resource kinds the server holds, with the path segments Graph
/// uses for them under `/users/{id}/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `contactFolders/{id}/contacts` — https://learn.microsoft.com/en-us/graph/api/resources/contact
    Contacts,
    /// `calendars/{id}/events` — https://learn.microsoft.com/en-us/graph/api/resources/event
    Events,
    /// `todo/lists/{id}/tasks` — https://learn.microsoft.com/en-us/graph/api/resources/todotask
    Tasks,
    /// `mailFolders/{id}/messages` — https://learn.microsoft.com/en-us/graph/api/resources/message
    Messages,
}

impl Resource {
    /// The OData type name of one item.
    pub(crate) fn odata_type(self) -> &'static str {
        match self {
            Resource::Contacts => "#microsoft.graph.contact",
            Resource::Events => "#microsoft.graph.event",
            Resource::Tasks => "#microsoft.graph.todoTask",
            Resource::Messages => "#microsoft.graph.message",
        }
    }

    /// The OData type name of one folder.
    pub(crate) fn folder_type(self) -> &'static str {
        match self {
            Resource::Contacts => "#microsoft.graph.contactFolder",
            Resource::Events => "#microsoft.graph.calendar",
            Resource::Tasks => "#microsoft.graph.todoTaskList",
            Resource::Messages => "#microsoft.graph.mailFolder",
        }
    }

    /// The folder property that carries its name (`name` for calendars).
    pub(crate) fn name_key(self) -> &'static str {
        match self {
            Resource::Events => "name",
            _ => "displayName",
        }
    }

    /// To Do tasks carry no changeKey property; contacts and events do.
    fn has_change_key(self) -> bool {
        !matches!(self, Resource::Tasks)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub body: Map<String, Value>,
    /// The change sequence of the last write (create, update or delete).
    pub changed_at: u64,
    pub removed: bool,
    /// A series master's exceptions and cancelled occurrences.
    pub occurrences: Occurrences,
}

#[derive(Debug)]
pub(crate) struct Folder {
    pub resource: Resource,
    pub name: String,
    pub items: BTreeMap<String, Item>,
}

/// Why a write was refused, as Graph names it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteError {
    NotFound,
    /// `If-Match` did not match the item's current `@odata.etag`.
    Conflict,
    /// A series whose pattern the test server does not expand.
    Unsupported,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Bumped by every write; delta tokens remember the value they saw.
    pub seq: u64,
    next_id: u64,
    pub folders: BTreeMap<String, Folder>,
}

impl Store {
    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        // Real ids are long base64url strings; these keep their alphabet.
        format!("{prefix}{:012}", self.next_id)
    }

    pub(crate) fn create_folder(&mut self, resource: Resource, name: &str) -> Value {
        let id = self.new_id("AAMkFolder");
        self.folders.insert(
            id.clone(),
            Folder {
                resource,
                name: name.to_string(),
                items: BTreeMap::new(),
            },
        );
        folder_json(&id, resource, name)
    }

    pub(crate) fn folders_of(&self, resource: Resource) -> Vec<Value> {
        self.folders
            .iter()
            .filter(|(_, f)| f.resource == resource)
            .map(|(id, f)| folder_json(id, resource, &f.name))
            .collect()
    }

    pub(crate) fn folder(&self, id: &str, resource: Resource) -> Option<&Folder> {
        self.folders.get(id).filter(|f| f.resource == resource)
    }

    /// A new change key, etag and modification stamp on `body`; called after
    /// every write, so a stale `If-Match` is always detected.
    fn stamp(&mut self, resource: Resource, body: &mut Map<String, Value>) -> u64 {
        self.seq += 1;
        let change_key = format!("CQAAABYAAAD{:08}", self.seq);
        body.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
        if resource.has_change_key() {
            body.insert("changeKey".into(), json!(change_key));
        }
        body.insert(
            "lastModifiedDateTime".into(),
            json!(format!("2026-01-01T00:00:00.{:07}Z", self.seq % 10_000_000)),
        );
        self.seq
    }

    /// POST to a folder: the item as stored, with its new id and etag.
    pub(crate) fn create(&mut self, folder_id: &str, body: Map<String, Value>) -> Option<Value> {
        self.folders.get(folder_id)?;
        let id = self.new_id("AAMkItem");
        self.create_with_id(folder_id, id, body)
    }

    /// [`Store::create`] under the id `id` (a test that needs ids of a
    /// chosen shape); `None` when the folder is missing or holds `id`.
    pub(crate) fn create_with_id(
        &mut self,
        folder_id: &str,
        id: String,
        mut body: Map<String, Value>,
    ) -> Option<Value> {
        let folder = self.folders.get(folder_id)?;
        if folder.items.contains_key(&id) {
            return None;
        }
        let resource = folder.resource;
        body.insert("@odata.type".into(), json!(resource.odata_type()));
        body.insert("id".into(), json!(id));
        body.insert("createdDateTime".into(), json!("2026-01-01T00:00:00Z"));
        if resource == Resource::Events && !body.contains_key("type") {
            let kind = if body.get("recurrence").is_some_and(|r| !r.is_null()) {
                "seriesMaster"
            } else {
                "singleInstance"
            };
            body.insert("type".into(), json!(kind));
        }
        let changed_at = self.stamp(resource, &mut body);
        let stored = body.clone();
        let mut occurrences = Occurrences::default();
        occurrences.master_written(&body);
        self.folders.get_mut(folder_id)?.items.insert(
            id,
            Item {
                body,
                changed_at,
                removed: false,
                occurrences,
            },
        );
        Some(Value::Object(stored))
    }

    pub(crate) fn get(&self, folder_id: &str, id: &str) -> Option<&Item> {
        self.folders.get(folder_id)?.items.get(id).filter(|i| !i.removed)
    }

    fn check(&self, folder_id: &str, id: &str, if_match: Option<&str>) -> Result<Resource, WriteError> {
        let folder = self.folders.get(folder_id).ok_or(WriteError::NotFound)?;
        let item = folder
            .items
            .get(id)
            .filter(|i| !i.removed)
            .ok_or(WriteError::NotFound)?;
        if let Some(expected) = if_match
            && item.body.get("@odata.etag").and_then(Value::as_str) != Some(expected)
        {
            return Err(WriteError::Conflict);
        }
        Ok(folder.resource)
    }

    /// The instances of series `master_id` whose original date is in `[from, to]`.
    pub(crate) fn instances(
        &self,
        folder_id: &str,
        master_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Value>, WriteError> {
        let item = self.get(folder_id, master_id).ok_or(WriteError::NotFound)?;
        let dates = series::dates(&item.body, from, to).map_err(series_error)?;
        Ok(dates
            .into_iter()
            .filter(|d| !item.occurrences.cancelled.contains(d))
            .map(|d| series::instance(&item.body, &item.occurrences, d))
            .collect())
    }

    /// A master with `cancelledOccurrences` and `exceptionOccurrences`.
    pub(crate) fn with_occurrences(&self, folder_id: &str, id: &str) -> Option<Value> {
        let item = self.get(folder_id, id)?;
        let mut body = item.body.clone();
        if body.get("type").and_then(Value::as_str) == Some("seriesMaster") {
            let (cancelled, exceptions) = series::master_view(&item.body, &item.occurrences);
            body.insert("cancelledOccurrences".into(), cancelled);
            body.insert("exceptionOccurrences".into(), exceptions);
        }
        Some(Value::Object(body))
    }

    /// The series and original date `id` names when it is an instance, not an item.
    fn instance_of(&self, folder_id: &str, id: &str) -> Option<(String, NaiveDate)> {
        if self.get(folder_id, id).is_some() {
            return None;
        }
        series::split_instance_id(id).map(|(master, date)| (master.to_string(), date))
    }

    /// A PATCH (`Some`) or DELETE (`None`) of the occurrence of `master_id`
    /// originally on `date`: the instance as it is now.
    fn write_occurrence(
        &mut self,
        folder_id: &str,
        master_id: &str,
        date: NaiveDate,
        if_match: Option<&str>,
        patch: Option<Map<String, Value>>,
    ) -> Result<Value, WriteError> {
        let resource = self.check(folder_id, master_id, None)?;
        let item = &self.folders[folder_id].items[master_id];
        let exists = series::dates(&item.body, date, date).map_err(series_error)? == [date];
        if !exists || item.occurrences.cancelled.contains(&date) {
            return Err(WriteError::NotFound);
        }
        // An instance has its own etag (R-GRAPH-40); a stale one is refused.
        if let Some(expected) = if_match
            && item.occurrences.etag_of(&item.body, date).as_deref() != Some(expected)
        {
            return Err(WriteError::Conflict);
        }
        let mut occurrences = item.occurrences.clone();
        match patch {
            Some(patch) => {
                let own = occurrences.exceptions.entry(date).or_default();
                for (key, value) in patch {
                    if !matches!(
                        key.as_str(),
                        "id" | "@odata.etag" | "changeKey" | "@odata.type" | "type" | "seriesMasterId" | "occurrenceId"
                    ) {
                        own.insert(key, value);
                    }
                }
            }
            None => {
                occurrences.exceptions.remove(&date);
                occurrences.cancelled.insert(date);
            }
        }
        let mut body = item.body.clone();
        let changed_at = self.stamp(resource, &mut body);
        match body.get("@odata.etag").and_then(Value::as_str) {
            Some(etag) if !occurrences.cancelled.contains(&date) => {
                occurrences.etags.insert(date, etag.to_owned());
            }
            _ => {
                occurrences.etags.remove(&date);
            }
        }
        let item = self
            .folders
            .get_mut(folder_id)
            .and_then(|f| f.items.get_mut(master_id))
            .ok_or(WriteError::NotFound)?;
        item.body = body;
        item.changed_at = changed_at;
        item.occurrences = occurrences;
        Ok(series::instance(&item.body, &item.occurrences, date))
    }

    /// PATCH: the properties given replace the stored ones; the extended
    /// properties and open extensions given are merged by id, as Graph does.
    pub(crate) fn update(
        &mut self,
        folder_id: &str,
        id: &str,
        if_match: Option<&str>,
        patch: Map<String, Value>,
    ) -> Result<Value, WriteError> {
        if let Some((master, date)) = self.instance_of(folder_id, id) {
            return self.write_occurrence(folder_id, &master, date, if_match, Some(patch));
        }
        let resource = self.check(folder_id, id, if_match)?;
        let mut body = self.folders[folder_id].items[id].body.clone();
        for (key, value) in patch {
            match key.as_str() {
                "id" | "@odata.etag" | "changeKey" | "@odata.type" => {}
                "singleValueExtendedProperties" | "extensions" => merge_by_id(&mut body, &key, value),
                _ => {
                    body.insert(key, value);
                }
            }
        }
        let changed_at = self.stamp(resource, &mut body);
        let item = self
            .folders
            .get_mut(folder_id)
            .and_then(|f| f.items.get_mut(id))
            .ok_or(WriteError::NotFound)?;
        item.body = body.clone();
        item.changed_at = changed_at;
        item.occurrences.master_written(&body);
        Ok(Value::Object(body))
    }

    pub(crate) fn delete(&mut self, folder_id: &str, id: &str, if_match: Option<&str>) -> Result<(), WriteError> {
        if let Some((master, date)) = self.instance_of(folder_id, id) {
            return self
                .write_occurrence(folder_id, &master, date, if_match, None)
                .map(|_| ());
        }
        self.check(folder_id, id, if_match)?;
        self.seq += 1;
        let seq = self.seq;
        let item = self
            .folders
            .get_mut(folder_id)
            .and_then(|f| f.items.get_mut(id))
            .ok_or(WriteError::NotFound)?;
        item.removed = true;
        item.changed_at = seq;
        Ok(())
    }

    /// Items of a folder whose single-value extended property `prop` is
    /// `value` (the `$filter=singleValueExtendedProperties/Any(...)` query).
    pub(crate) fn find_by_property(&self, folder_id: &str, prop: &str, value: &str) -> Vec<Value> {
        let Some(folder) = self.folders.get(folder_id) else {
            return Vec::new();
        };
        folder
            .items
            .values()
            .filter(|i| !i.removed)
            .filter(|i| {
                i.body
                    .get("singleValueExtendedProperties")
                    .and_then(Value::as_array)
                    .is_some_and(|props| {
                        props.iter().any(|p| {
                            p.get("id")
                                .and_then(Value::as_str)
                                .is_some_and(|id| id.eq_ignore_ascii_case(prop))
                                && p.get("value").and_then(Value::as_str) == Some(value)
                        })
                    })
            })
            .map(|i| Value::Object(i.body.clone()))
            .collect()
    }
}

fn series_error(e: SeriesError) -> WriteError {
    match e {
        SeriesError::NotASeries => WriteError::NotFound,
        SeriesError::UnsupportedPattern => WriteError::Unsupported,
    }
}

/// Merges an array of objects into the stored one by their `id` (extended
/// properties) or `extensionName` (open extensions): a PATCH that names one
/// property leaves the others.
fn merge_by_id(body: &mut Map<String, Value>, key: &str, value: Value) {
    let Value::Array(new) = value else { return };
    let mut list = body.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let key_of = |v: &Value| {
        v.get("id")
            .or_else(|| v.get("extensionName"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    for entry in new {
        let k = key_of(&entry);
        match list.iter_mut().find(|e| k.is_some() && key_of(e) == k) {
            Some(existing) => {
                if let (Some(target), Value::Object(fields)) = (existing.as_object_mut(), entry) {
                    // The stored id keeps its spelling (ids compare case-insensitively).
                    target.extend(fields.into_iter().filter(|(k, _)| k != "id"));
                }
            }
            None => list.push(entry),
        }
    }
    body.insert(key.to_string(), Value::Array(list));
}

fn folder_json(id: &str, resource: Resource, name: &str) -> Value {
    let mut folder = Map::new();
    folder.insert("@odata.type".into(), json!(resource.folder_type()));
    folder.insert("id".into(), json!(id));
    folder.insert(resource.name_key().into(), json!(name));
    Value::Object(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_moves_the_etag_and_a_stale_one_is_refused() {
        let mut store = Store::default();
        let folder = store.create_folder(Resource::Contacts, "contacts")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let created = store.create(&folder, Map::new()).unwrap();
        let id = created["id"].as_str().unwrap();
        let etag1 = created["@odata.etag"].as_str().unwrap();
        let patch: Map<String, Value> = serde_json::from_value(json!({"givenName": "Ada"})).unwrap();
        let updated = store.update(&folder, id, Some(etag1), patch.clone()).unwrap();
        assert_ne!(updated["@odata.etag"], created["@odata.etag"]);
        assert_eq!(
            updated["changeKey"].as_str().map(|k| format!("W/\"{k}\"")).as_deref(),
            updated["@odata.etag"].as_str()
        );
        assert_eq!(store.update(&folder, id, Some(etag1), patch), Err(WriteError::Conflict));
        assert_eq!(store.delete(&folder, id, Some(etag1)), Err(WriteError::Conflict));
    }

    #[test]
    fn extended_properties_merge_by_id() {
        let mut body: Map<String, Value> = serde_json::from_value(
            json!({"singleValueExtendedProperties": [{"id": "A", "value": "1"}, {"id": "B", "value": "2"}]}),
        )
        .unwrap();
        merge_by_id(
            &mut body,
            "singleValueExtendedProperties",
            json!([{"id": "a", "value": "3"}]),
        );
        assert_eq!(
            body["singleValueExtendedProperties"],
            json!([{"id": "A", "value": "3"}, {"id": "B", "value": "2"}])
        );
    }
}
