//! Mail of the Graph test server (R-GRAPH-29): mail folders, messages and
//! their MIME, on the same store, change sequence and delta rounds as the
//! other resources (so paging, empty pages, `@removed` rows and 410 behave
//! as for contacts).
//!
//! Shapes, after Microsoft's published examples:
//! - a mail folder: https://learn.microsoft.com/en-us/graph/api/resources/mailfolder
//!   (`GET /users/{id}/mailFolders`, https://learn.microsoft.com/en-us/graph/api/user-list-mailfolders;
//!   `POST` with `displayName`, https://learn.microsoft.com/en-us/graph/api/user-post-mailfolders;
//!   the well-known `inbox`, https://learn.microsoft.com/en-us/graph/api/resources/mailfolder#well-known-folder-names);
//! - a message: https://learn.microsoft.com/en-us/graph/api/resources/message
//!   (`from`/`toRecipients`/`ccRecipients` as `{"emailAddress": {"name", "address"}}`,
//!   `body` as `{"contentType": "html"|"text", "content"}`, `categories`,
//!   `internetMessageId`, `internetMessageHeaders` as `[{"name", "value"}]`);
//! - messages delta per folder: https://learn.microsoft.com/en-us/graph/api/message-delta and
//!   https://learn.microsoft.com/en-us/graph/delta-query-messages (rows, `@odata.nextLink`,
//!   `@odata.deltaLink`, `{"id", "@removed": {"reason": "deleted"}}` for a message
//!   moved out or deleted);
//! - a message's MIME: `GET /users/{id}/messages/{id}/$value`,
//!   https://learn.microsoft.com/en-us/graph/outlook-get-mime-message (rendered here from
//!   the message's properties, as Exchange does for a message it holds);
//! - a move keeps the id with `Prefer: IdType="ImmutableId"`:
//!   https://learn.microsoft.com/en-us/graph/outlook-immutable-id.
//!
//! Simplification: `$select` is not applied (rows carry every property);
//! a client that reads only what it selected cannot tell.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::routes::error;
use super::store::{Item, Resource, Store};
use super::{GraphServer, Shared};

/// The display name of the folder `mailFolders/inbox` names.
const INBOX: &str = "Inbox";

impl Store {
    /// The id of the Inbox, made on first use.
    pub(crate) fn inbox(&mut self) -> String {
        let found = self
            .folders
            .iter()
            .find(|(_, f)| f.resource == Resource::Messages && f.name == INBOX)
            .map(|(id, _)| id.clone());
        match found {
            Some(id) => id,
            None => self.create_folder(Resource::Messages, INBOX)["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The mail folder holding the live message `id`.
    pub(crate) fn folder_of_message(&self, id: &str) -> Option<String> {
        self.folders
            .iter()
            .find(|(_, f)| f.resource == Resource::Messages && f.items.get(id).is_some_and(|i| !i.removed))
            .map(|(fid, _)| fid.clone())
    }
}

/// `GET /users/{id}/mailFolders/inbox`.
pub(crate) fn inbox(shared: &Shared) -> Response {
    let mut store = shared.store.lock().expect("lock");
    let id = store.inbox();
    super::routes::reply(
        StatusCode::OK,
        json!({"@odata.type": Resource::Messages.folder_type(), "id": id, "displayName": INBOX}),
    )
}

/// `GET /users/{id}/messages/{id}/$value`: the MIME of the message.
pub(crate) fn mime(shared: &Shared, id: &str) -> Response {
    if shared.switches.take_mime_fault() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ErrorInternalServerError",
            "An internal server error occurred. The operation failed.",
        );
    }
    let store = shared.store.lock().expect("lock");
    let Some(item) = store
        .folder_of_message(id)
        .and_then(|f| store.get(&f, id).map(|i| i.body.clone()))
    else {
        return error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        );
    };
    let mut response = render_mime(&item).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// RFC 5322 text of a message's properties: what Exchange answers for `$value`.
pub(crate) fn render_mime(message: &Map<String, Value>) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let mailbox = |r: &Value| {
        let address = r["emailAddress"]["address"].as_str().unwrap_or_default();
        match r["emailAddress"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(name) => format!("\"{name}\" <{address}>"),
            None => format!("<{address}>"),
        }
    };
    let list = |key: &str| {
        message
            .get(key)
            .and_then(Value::as_array)
            .map(|l| l.iter().map(mailbox).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let date = message
        .get("sentDateTime")
        .or_else(|| message.get("receivedDateTime"))
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_rfc2822());
    let mut out = String::new();
    if let Some(from) = message.get("from").filter(|f| f.is_object()) {
        out.push_str(&format!("From: {}\r\n", mailbox(from)));
    }
    for (key, name) in [("toRecipients", "To"), ("ccRecipients", "Cc")] {
        let l = list(key);
        if !l.is_empty() {
            out.push_str(&format!("{name}: {l}\r\n"));
        }
    }
    out.push_str(&format!("Subject: {}\r\n", text(message.get("subject"))));
    if let Some(date) = date {
        out.push_str(&format!("Date: {date}\r\n"));
    }
    let message_id = text(message.get("internetMessageId"));
    if !message_id.is_empty() {
        out.push_str(&format!("Message-ID: {message_id}\r\n"));
    }
    for h in message
        .get("internetMessageHeaders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(value)) = (h["name"].as_str(), h["value"].as_str())
            && ["In-Reply-To", "References"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
        {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let body = message.get("body").cloned().unwrap_or(Value::Null);
    let kind = match body["contentType"].as_str() {
        Some(k) if k.eq_ignore_ascii_case("html") => "html",
        _ => "plain",
    };
    out.push_str(&format!(
        "MIME-Version: 1.0\r\nContent-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ));
    out.push_str(&body["content"].as_str().unwrap_or_default().replace('\n', "\r\n"));
    out.push_str("\r\n");
    out
}

impl GraphServer {
    /// Creates a top-level mail folder as the user would in Outlook; its id.
    pub fn create_mail_folder(&self, name: &str) -> String {
        self.create_folder(Resource::Messages, name)
    }

    /// The id of the Inbox (`mailFolders/inbox`).
    pub fn inbox_id(&self) -> String {
        self.shared.store.lock().expect("lock").inbox()
    }

    /// Moves a message to another folder as Outlook does: it leaves the
    /// first folder (its delta reports `@removed`) and arrives in the
    /// second under the same immutable id, with a new etag.
    pub fn user_move_message(&self, from: &str, to: &str, id: &str) -> Value {
        let mut store = self.shared.store.lock().expect("lock");
        let body = store.get(from, id).expect("the message is in the folder").body.clone();
        store.delete(from, id, None).expect("the message is in the folder");
        store.seq += 1;
        let seq = store.seq;
        let mut body: Map<String, Value> = body;
        let change_key = format!("CQAAABYAAAD{seq:08}");
        body.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
        body.insert("changeKey".into(), json!(change_key));
        body.insert("parentFolderId".into(), json!(to));
        store
            .folders
            .get_mut(to)
            .expect("the target folder exists")
            .items
            .insert(
                id.to_string(),
                Item {
                    body: body.clone(),
                    changed_at: seq,
                    removed: false,
                    occurrences: Default::default(),
                },
            );
        drop(store);
        Shared::announce(&self.shared, from, id, "deleted");
        Shared::announce(&self.shared, to, id, "created");
        Value::Object(body)
    }

    /// Deletes a mail folder with its messages for good, as emptying Deleted
    /// Items does: its messages delta is 404 from then on and a new folder of
    /// the same name gets a new id. Subscriptions to it are kept and never
    /// fire again (what Exchange does with them is not documented).
    pub fn user_delete_mail_folder(&self, id: &str) {
        let mut store = self.shared.store.lock().expect("lock");
        store.folders.remove(id).expect("the folder exists");
    }

    /// The MIME the server answers for a message.
    pub fn message_mime(&self, id: &str) -> Option<String> {
        let store = self.shared.store.lock().expect("lock");
        let folder = store.folder_of_message(id)?;
        store.get(&folder, id).map(|i| render_mime(&i.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mime_of_a_message_has_its_addresses_thread_and_body() {
        let message: Map<String, Value> = serde_json::from_value(json!({
            "subject": "Offer",
            "from": {"emailAddress": {"name": "Ada", "address": "ada@x.example"}},
            "toRecipients": [{"emailAddress": {"name": "Anna", "address": "anna@contoso.com"}}],
            "ccRecipients": [],
            "sentDateTime": "2026-03-01T10:00:00Z",
            "internetMessageId": "<o1@x.example>",
            "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<p@x.example>"}],
            "body": {"contentType": "html", "content": "<p>Hi</p>"}
        }))
        .unwrap();
        let mime = render_mime(&message);
        for line in [
            "From: \"Ada\" <ada@x.example>\r\n",
            "To: \"Anna\" <anna@contoso.com>\r\n",
            "Subject: Offer\r\n",
            "Date: Sun, 1 Mar 2026 10:00:00 +0000\r\n",
            "Message-ID: <o1@x.example>\r\n",
            "In-Reply-To: <p@x.example>\r\n",
            "Content-Type: text/html; charset=utf-8\r\n",
        ] {
            assert!(mime.contains(line), "{line:?} missing from {mime}");
        }
        assert!(!mime.contains("Cc:"));
        assert!(mime.ends_with("\r\n\r\n<p>Hi</p>\r\n"));
    }
}
