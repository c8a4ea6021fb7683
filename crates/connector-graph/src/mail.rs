//! [`GraphMail`]: the [`MailSource`] of an Exchange Online mailbox over Graph
//! (R-GRAPH-25..29). Each polled folder is one messages delta
//! (https://learn.microsoft.com/en-us/graph/api/message-delta: "Delta query
//! is a per-folder operation", https://learn.microsoft.com/en-us/graph/delta-query-messages),
//! its `@odata.deltaLink` the folder's cursor; a message is read as the MIME
//! Exchange renders for it (https://learn.microsoft.com/en-us/graph/outlook-get-mime-message),
//! so the runner parses it exactly as an IMAP message and every R-TRACK rule
//! applies unchanged. The tracked mark is an Outlook category (R-TRACK-9),
//! set with `If-Match` on the message's etag.
//!
//! The runner speaks IMAP's terms (UIDVALIDITY, UID); a Graph message's
//! immutable id is mapped onto them (R-GRAPH-42): UID = the first 63 bits of
//! SHA-256 of the id (so it fits the store's signed BIGINT as it is), and
//! UIDVALIDITY = 2^62 + the first 62 bits of SHA-256 of the folder's id (a
//! folder deleted and made again is a new folder). For n messages in a
//! folder two share a UID with a chance of about n²/2^64 (5·10^-8 at a
//! million); a poll that meets two anyway fails the folder naming both ids
//! (R-GRAPH-43) instead of leaving one out. Ids are only known from the poll
//! of the same run, which is how the runner uses a source (poll, then fetch
//! and mark what it listed).
//!
//! Before R-GRAPH-42 both were 32-bit (a UID collision was likely from a
//! few ten thousand messages on). A stored position of that scheme has a
//! UIDVALIDITY below 2^32, never with the 2^62 bit: its delta link is not
//! followed, the folder is listed in full under the new UIDVALIDITY, and the
//! runner takes it as a folder whose UIDVALIDITY changed: every message is
//! found again by its key (R-TRACK-5), nothing is tracked twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::DateTime;
use crmsync_connector::{
    ConnectorError, FolderPoll, FolderPosition, MailSource, MarkOutcome, MessageFlags, RawMessage, ThreadHeaders,
};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};

use crate::folder::segment;
use crate::http::{Call, GraphHttp};
use crate::{GraphConnector, GraphError};

/// The message properties a delta round asks for: what the triggers and
/// the mark need, not the bodies (the MIME is fetched for tracked ones only).
const DELTA_SELECT: &str = "categories,receivedDateTime,internetMessageId";

/// Guards against a server that links pages in a circle.
const MAX_PAGES: usize = 100_000;

/// The mail side of one Graph mailbox.
pub struct GraphMail {
    conn: GraphConnector,
    /// Folder display name → id, learnt by listing or creating.
    folders: Mutex<HashMap<String, String>>,
    /// What the polls of this run listed, by (folder name, UID).
    listed: Mutex<HashMap<(String, u64), Listed>>,
}

impl std::fmt::Debug for GraphMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphMail")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

/// A message as its delta row showed it.
#[derive(Debug, Clone)]
struct Listed {
    id: String,
    etag: Option<String>,
    categories: Vec<String>,
    received_at: Option<i64>,
}

/// One non-removed row of a messages delta, with the properties
/// https://learn.microsoft.com/en-us/graph/api/resources/message documents
/// for those selected. A row that does not read so is an error naming the
/// message, never skipped (it could be one to track).
#[derive(Debug)]
struct MessageRow {
    id: String,
    etag: Option<String>,
    categories: Vec<String>,
    /// `receivedDateTime`, Unix seconds.
    received: Option<i64>,
}

/// The UID standing for a Graph message id (R-GRAPH-42): the first 63 bits
/// of its SHA-256, at most `i64::MAX`, so the store keeps it as it is. 63
/// bits put a collision in one folder out of reach (about n²/2^64 for n
/// messages), where the 32 bits of before made one likely by 100,000.
pub fn uid_of(id: &str) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first) >> 1
}

/// Set in every UIDVALIDITY this scheme makes and in none of the 32-bit
/// scheme before it: a stored position without it holds UIDs of that
/// scheme (R-GRAPH-42).
const SCHEME_MARK: u64 = 1 << 62;

/// The UIDVALIDITY standing for a Graph folder id: [`SCHEME_MARK`] and the
/// first 62 bits of the id's SHA-256.
pub fn uid_validity_of(folder_id: &str) -> u64 {
    SCHEME_MARK | (uid_of(folder_id) >> 1)
}

/// The UID of each of `ids` (one poll's listed and removed messages of
/// `folder`) by `uid`; two different ids with one UID are an error naming
/// both (R-GRAPH-43), never one of them dropped: the runner keys its status
/// rows by UID and would take the second for the first.
fn uids_of<'a>(
    folder: &str,
    ids: impl IntoIterator<Item = &'a str>,
    uid: impl Fn(&str) -> u64,
) -> Result<HashMap<&'a str, u64>, GraphError> {
    let mut by_uid: HashMap<u64, &'a str> = HashMap::new();
    let mut out = HashMap::new();
    for id in ids {
        let u = uid(id);
        if let Some(first) = by_uid.insert(u, id)
            && first != id
        {
            return Err(GraphError::UidCollision {
                folder: folder.to_string(),
                first: first.to_string(),
                second: id.to_string(),
                uid: u,
            });
        }
        out.insert(id, u);
    }
    Ok(out)
}

impl GraphMail {
    pub fn new(conn: GraphConnector) -> Self {
        GraphMail {
            conn,
            folders: Mutex::new(HashMap::new()),
            listed: Mutex::new(HashMap::new()),
        }
    }

    fn http(&self) -> &GraphHttp {
        self.conn.http()
    }

    fn base(&self) -> &str {
        self.conn.config().base_url.trim_end_matches('/')
    }

    fn url(&self, path: &str) -> String {
        format!("{}/users/{}/{path}", self.base(), segment(&self.conn.config().mailbox))
    }

    /// The id of the folder named `name` (`INBOX` is the well-known
    /// `inbox`, whatever its localised display name); `None` when missing.
    pub(crate) async fn folder_id(&self, name: &str) -> Result<Option<String>, GraphError> {
        if let Some(id) = self.folders.lock().expect("lock").get(name) {
            return Ok(Some(id.clone()));
        }
        let id = if name.eq_ignore_ascii_case("INBOX") {
            // https://learn.microsoft.com/en-us/graph/api/resources/mailfolder#well-known-folder-names
            let folder = self.http().json(&Call::get(&self.url("mailFolders/inbox"))).await?;
            folder["id"].as_str().map(str::to_string)
        } else {
            self.find_folder(name).await?
        };
        if let Some(id) = &id {
            self.folders.lock().expect("lock").insert(name.to_string(), id.clone());
        }
        Ok(id)
    }

    /// Lists the top-level folders page by page
    /// (https://learn.microsoft.com/en-us/graph/api/user-list-mailfolders).
    async fn find_folder(&self, name: &str) -> Result<Option<String>, GraphError> {
        let mut url = self.url("mailFolders?$select=id,displayName&$top=100");
        for _ in 0..MAX_PAGES {
            let page = self.http().json(&Call::get(&url)).await?;
            let found = page["value"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| f["displayName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
            if let Some(f) = found {
                return Ok(f["id"].as_str().map(str::to_string));
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return Ok(None),
            }
        }
        Err(GraphError::InvalidResponse("a folder list of too many pages".into()))
    }

    /// One delta round from `first`: the rows by id (last one wins) and the
    /// ids removed, and the delta link that ends it.
    async fn delta(&self, folder: &str, first: &str) -> Result<Round, GraphError> {
        let mut round = Round::default();
        let mut url = first.to_string();
        for _ in 0..MAX_PAGES {
            let page = self.http().json(&Call::get(&url)).await?;
            for row in page["value"].as_array().map(Vec::as_slice).unwrap_or_default() {
                round.read(folder, row)?;
            }
            if let Some(next) = page["@odata.nextLink"].as_str() {
                url = next.to_string();
            } else if let Some(link) = page["@odata.deltaLink"].as_str() {
                round.link = link.to_string();
                return Ok(round);
            } else {
                return Err(GraphError::InvalidResponse(format!(
                    "a messages delta page of folder {folder} without @odata.nextLink or @odata.deltaLink"
                )));
            }
        }
        Err(GraphError::InvalidResponse(format!(
            "a messages delta round of folder {folder} of more than {MAX_PAGES} pages"
        )))
    }

    fn listed(&self, folder: &str, uid: u64) -> Option<Listed> {
        self.listed
            .lock()
            .expect("lock")
            .get(&(folder.to_string(), uid))
            .cloned()
    }

    /// GET of one message by id (`/users/{id}/messages/{id}` finds it in any folder).
    async fn get(&self, id: &str, tail: &str) -> Result<Option<Vec<u8>>, GraphError> {
        let url = self.url(&format!("messages/{}{tail}", segment(id)));
        match self.http().send(&Call::get(&url)).await {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds `category` to a listed message with `If-Match` on the etag it
    /// was listed with (https://learn.microsoft.com/en-us/graph/api/message-update:
    /// `categories` is replaced as a whole, so a stale list must not win).
    async fn mark(&self, folder: &str, uid: u64, category: &str) -> Result<MarkOutcome, ConnectorError> {
        let Some(listed) = self.listed(folder, uid) else {
            return Ok(MarkOutcome::Changed);
        };
        if listed.categories.iter().any(|c| c.eq_ignore_ascii_case(category)) {
            return Ok(MarkOutcome::Marked);
        }
        // Without the listed etag the PATCH could not be conditional and
        // might replace categories the user set since: marked on a later run.
        let Some(etag) = listed.etag.clone().map(crmsync_connector::Etag::new) else {
            return Ok(MarkOutcome::Changed);
        };
        let etag = Some(etag);
        let mut categories = listed.categories.clone();
        categories.push(category.to_string());
        let body = json!({ "categories": categories }).to_string();
        let url = self.url(&format!("messages/{}", segment(&listed.id)));
        let call = Call {
            method: Method::PATCH,
            url: &url,
            if_match: etag.as_ref(),
            body: Some(body.as_bytes()),
        };
        match self.http().json(&call).await {
            Ok(updated) => {
                let mut all = self.listed.lock().expect("lock");
                if let Some(entry) = all.get_mut(&(folder.to_string(), uid)) {
                    entry.categories = categories;
                    entry.etag = updated["@odata.etag"].as_str().map(str::to_string);
                }
                Ok(MarkOutcome::Marked)
            }
            // Changed since the poll (412) or gone (404): the next poll sees it again.
            Err(e) if matches!(e.status(), Some(404 | 412)) => Ok(MarkOutcome::Changed),
            Err(e) => Err(e.into()),
        }
    }
}

/// One delta round of a folder: a message's last row wins.
#[derive(Debug, Default)]
struct Round {
    rows: BTreeMap<String, MessageRow>,
    removed: BTreeSet<String>,
    link: String,
}

impl Round {
    /// https://learn.microsoft.com/en-us/graph/delta-query-messages#sample-initial-response:
    /// a row is a message, or `{"id", "@removed": {"reason"}}` for one that
    /// left the folder (moved or deleted).
    fn read(&mut self, folder: &str, row: &Value) -> Result<(), GraphError> {
        let id = row["id"].as_str().ok_or_else(|| {
            GraphError::InvalidResponse(format!("a messages delta row of folder {folder} without id"))
        })?;
        self.rows.remove(id);
        self.removed.remove(id);
        if row.get("@removed").is_some() {
            self.removed.insert(id.to_string());
            return Ok(());
        }
        let bad = |what: &str| {
            GraphError::InvalidResponse(format!(
                "message {id} of folder {folder} does not read as a message: {what}"
            ))
        };
        let categories = match &row["categories"] {
            Value::Null => Vec::new(),
            Value::Array(list) => list
                .iter()
                .map(|c| c.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("categories is not a list of names"))?,
            _ => return Err(bad("categories is not a list of names")),
        };
        let received = match &row["receivedDateTime"] {
            Value::Null => None,
            Value::String(at) => Some(
                DateTime::parse_from_rfc3339(at)
                    .map_err(|_| bad(&format!("receivedDateTime {at:?} is no date and time")))?
                    .timestamp(),
            ),
            _ => return Err(bad("receivedDateTime is no date and time")),
        };
        let etag = match &row["@odata.etag"] {
            Value::Null => None,
            Value::String(e) => Some(e.clone()),
            _ => return Err(bad("@odata.etag is not a string")),
        };
        let message = MessageRow {
            id: id.to_string(),
            etag,
            categories,
            received,
        };
        self.rows.insert(id.to_string(), message);
        Ok(())
    }
}

#[async_trait]
impl MailSource for GraphMail {
    /// https://learn.microsoft.com/en-us/graph/api/user-post-mailfolders
    async fn ensure_folder(&self, folder: &str) -> Result<(), ConnectorError> {
        if self.folder_id(folder).await?.is_some() {
            return Ok(());
        }
        let body = json!({ "displayName": folder }).to_string();
        let url = self.url("mailFolders");
        let call = Call {
            method: Method::POST,
            url: &url,
            if_match: None,
            body: Some(body.as_bytes()),
        };
        match self.http().json(&call).await {
            Ok(created) => {
                if let Some(id) = created["id"].as_str() {
                    self.folders
                        .lock()
                        .expect("lock")
                        .insert(folder.to_string(), id.to_string());
                }
                Ok(())
            }
            // Made meanwhile by someone else (ErrorFolderExists): use it.
            Err(e) if e.status() == Some(409) => match self.folder_id(folder).await? {
                Some(_) => Ok(()),
                None => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn poll(&self, folder: &str, since: Option<&FolderPosition>) -> Result<FolderPoll, ConnectorError> {
        // A stored link of this profile's endpoint resumes the round; any
        // other (none, another connector's, garbage) starts a full one
        // (R-GRAPH-3), and so does one stored with UIDs of the 32-bit
        // scheme, which the runner's rows of the folder hold (R-GRAPH-42).
        let resume = since.and_then(|p| {
            let link = p.cursor.as_deref()?;
            if p.uid_validity & SCHEME_MARK == 0 {
                tracing::info!(
                    folder,
                    "the folder's position holds 32-bit UIDs of an earlier crmsync; listing it in full (R-GRAPH-42)"
                );
                return None;
            }
            link.starts_with(&format!("{}/", self.base()))
                .then(|| (link.to_string(), p.uid_validity))
        });
        let (round, validity, full) = match resume {
            Some((link, validity)) => match self.delta(folder, &link).await {
                Ok(round) => (round, validity, false),
                Err(e) if e.is_sync_reset() => {
                    tracing::info!(
                        folder,
                        "Graph no longer knows the folder's delta state; listing it in full"
                    );
                    self.full_round(folder).await?
                }
                Err(e) if e.status() == Some(404) => {
                    // The folder was deleted: forget its id, the runner makes it again.
                    self.folders.lock().expect("lock").remove(folder);
                    return Err(ConnectorError::NotFound {
                        what: format!("mail folder {folder}"),
                    });
                }
                Err(e) => return Err(e.into()),
            },
            None => self.full_round(folder).await?,
        };
        let uids = uids_of(
            folder,
            round.rows.keys().chain(&round.removed).map(String::as_str),
            uid_of,
        )?;
        // Every id below is one `uids_of` just mapped.
        let uid_at = |id: &str| uids[id];
        let mut changed = Vec::with_capacity(round.rows.len());
        let mut listed = self.listed.lock().expect("lock");
        // This poll's listing replaces what an earlier poll of the folder
        // in this run listed (a folder made again is polled twice).
        listed.retain(|(f, _), _| f != folder);
        for row in round.rows.values() {
            let uid = uid_at(&row.id);
            changed.push(MessageFlags {
                uid,
                flags: row.categories.clone(),
                modseq: None,
            });
            listed.insert(
                (folder.to_string(), uid),
                Listed {
                    received_at: row.received,
                    id: row.id.clone(),
                    etag: row.etag.clone(),
                    categories: row.categories.clone(),
                },
            );
        }
        drop(listed);
        let removed: Vec<u64> = if full {
            Vec::new()
        } else {
            round.removed.iter().map(|id| uid_at(id)).collect()
        };
        let same_link = since.and_then(|p| p.cursor.as_deref()) == Some(round.link.as_str());
        let unchanged = !full && changed.is_empty() && removed.is_empty() && same_link;
        Ok(FolderPoll {
            position: FolderPosition {
                uid_validity: validity,
                highest_modseq: None,
                // Graph ids have no order: every message an incremental
                // round lists counts as new for replies and known contacts.
                uid_next: 0,
                cursor: Some(round.link),
            },
            full,
            unchanged,
            present: full.then(|| changed.iter().map(|m| m.uid).collect()),
            changed,
            removed,
        })
    }

    /// https://learn.microsoft.com/en-us/graph/api/message-get: the thread
    /// headers are among `internetMessageHeaders`, returned only when selected.
    async fn thread_headers(&self, folder: &str, uids: &[u64]) -> Result<Vec<ThreadHeaders>, ConnectorError> {
        self.each_listed(folder, uids, |uid, listed| {
            Box::pin(async move {
                let tail = "?$select=internetMessageId,internetMessageHeaders,from,toRecipients,ccRecipients";
                let Some(body) = self.get(&listed.id, tail).await? else {
                    return Ok(None);
                };
                let message: Value = serde_json::from_slice(&body)
                    .map_err(|e| GraphError::InvalidResponse(format!("message {} gave no JSON: {e}", listed.id)))?;
                Ok(Some(thread_headers(uid, &message)))
            })
        })
        .await
    }

    async fn fetch(&self, folder: &str, uids: &[u64]) -> Result<Vec<RawMessage>, ConnectorError> {
        self.each_listed(folder, uids, |uid, listed| {
            Box::pin(async move {
                let Some(mime) = self.get(&listed.id, "/$value").await? else {
                    return Ok(None);
                };
                Ok(Some(RawMessage {
                    uid,
                    flags: listed.categories,
                    received_at: listed.received_at,
                    body: mime,
                }))
            })
        })
        .await
    }

    /// The tracked mark is an Outlook category; `modseq` is unused (the
    /// etag the poll listed is the precondition).
    async fn add_keyword(
        &self,
        folder: &str,
        uid: u64,
        _modseq: Option<u64>,
        keyword: &str,
    ) -> Result<MarkOutcome, ConnectorError> {
        self.mark(folder, uid, keyword).await
    }

    /// One PATCH per message, as many in flight as the mailbox allows.
    async fn add_keywords(
        &self,
        folder: &str,
        marks: &[(u64, Option<u64>)],
        keyword: &str,
    ) -> Result<Vec<u64>, ConnectorError> {
        let writes: Vec<BoxFuture<'_, Result<(u64, MarkOutcome), ConnectorError>>> = marks
            .iter()
            .map(|&(uid, _)| -> BoxFuture<'_, _> {
                Box::pin(async move { Ok((uid, self.mark(folder, uid, keyword).await?)) })
            })
            .collect();
        let outcomes: Vec<Result<(u64, MarkOutcome), ConnectorError>> =
            stream::iter(writes).buffered(self.conn.concurrency()).collect().await;
        let mut marked = Vec::new();
        for outcome in outcomes {
            if let (uid, MarkOutcome::Marked) = outcome? {
                marked.push(uid);
            }
        }
        Ok(marked)
    }

    /// Forgets what this run listed; folder ids are kept.
    async fn close(&self) {
        self.listed.lock().expect("lock").clear();
    }
}

impl GraphMail {
    /// `read` of each of `uids` this run listed, as many in flight as the
    /// mailbox allows, in order; those gone (`None`) are left out.
    async fn each_listed<'a, T: Send + 'a>(
        &'a self,
        folder: &str,
        uids: &[u64],
        read: impl Fn(u64, Listed) -> BoxFuture<'a, Result<Option<T>, GraphError>>,
    ) -> Result<Vec<T>, ConnectorError> {
        let reads: Vec<BoxFuture<'a, Result<Option<T>, GraphError>>> = uids
            .iter()
            .filter_map(|&u| Some(read(u, self.listed(folder, u)?)))
            .collect();
        let answers: Vec<Result<Option<T>, GraphError>> =
            stream::iter(reads).buffered(self.conn.concurrency()).collect().await;
        let mut out = Vec::new();
        for answer in answers {
            out.extend(answer?);
        }
        Ok(out)
    }

    /// A full round of `folder` (first poll, expired state): resolves the
    /// folder by name, so a missing one is `NotFound` for the runner to make.
    async fn full_round(&self, folder: &str) -> Result<(Round, u64, bool), ConnectorError> {
        let Some(id) = self.folder_id(folder).await? else {
            return Err(ConnectorError::NotFound {
                what: format!("mail folder {folder}"),
            });
        };
        let first = self.url(&format!(
            "mailFolders/{}/messages/delta?$select={DELTA_SELECT}",
            segment(&id)
        ));
        let round = match self.delta(folder, &first).await {
            Err(e) if e.status() == Some(404) => {
                self.folders.lock().expect("lock").remove(folder);
                return Err(ConnectorError::NotFound {
                    what: format!("mail folder {folder}"),
                });
            }
            other => other?,
        };
        Ok((round, uid_validity_of(&id), true))
    }
}

/// The thread headers of a message as `GET …?$select=internetMessageId,
/// internetMessageHeaders,from,toRecipients,ccRecipients` shows it
/// (https://learn.microsoft.com/en-us/graph/api/resources/internetmessageheader,
/// https://learn.microsoft.com/en-us/graph/api/resources/recipient).
fn thread_headers(uid: u64, message: &Value) -> ThreadHeaders {
    let header = |name: &str| -> Vec<String> {
        message["internetMessageHeaders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .filter_map(|h| h["value"].as_str())
            .flat_map(str::split_whitespace)
            .map(str::to_string)
            .collect()
    };
    let mut addresses = Vec::new();
    for key in ["from", "toRecipients", "ccRecipients"] {
        let recipients = match &message[key] {
            Value::Array(list) => list.iter().collect(),
            single @ Value::Object(_) => vec![single],
            _ => Vec::new(),
        };
        for r in recipients {
            if let Some(a) = r["emailAddress"]["address"].as_str().map(str::trim)
                && !a.is_empty()
            {
                addresses.push(a.to_string());
            }
        }
    }
    ThreadHeaders {
        uid,
        message_id: message["internetMessageId"].as_str().map(str::to_string),
        in_reply_to: header("In-Reply-To"),
        references: header("References"),
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_graph_26_thread_headers_come_from_the_selected_properties() {
        // Shapes of https://learn.microsoft.com/en-us/graph/api/message-get#example-3-get-internet-message-headers
        let message = json!({
            "internetMessageId": "<r@x.example>",
            "internetMessageHeaders": [
                {"name": "In-Reply-To", "value": "<m@x.example>"},
                {"name": "References", "value": "<a@x.example> <m@x.example>"},
                {"name": "Subject", "value": "Re: offer"}
            ],
            "from": {"emailAddress": {"name": "A", "address": "a@x.example"}},
            "toRecipients": [{"emailAddress": {"name": "B", "address": "b@x.example"}}],
            "ccRecipients": []
        });
        let h = thread_headers(9, &message);
        assert_eq!(h.uid, 9);
        assert_eq!(h.message_id.as_deref(), Some("<r@x.example>"));
        assert_eq!(h.in_reply_to, ["<m@x.example>"]);
        assert_eq!(h.references, ["<a@x.example>", "<m@x.example>"]);
        assert_eq!(h.addresses, ["a@x.example", "b@x.example"]);
    }

    #[test]
    fn r_graph_28_a_row_that_is_no_message_is_an_error_naming_it() {
        let mut round = Round::default();
        round
            .read(
                "CRM",
                &json!({"id": "m1", "categories": ["CRM"], "receivedDateTime": "2026-01-02T03:04:05Z"}),
            )
            .unwrap();
        let err = round
            .read("CRM", &json!({"id": "m2", "categories": "CRM"}))
            .unwrap_err();
        assert!(err.to_string().contains("message m2 of folder CRM"), "{err}");
        let err = round
            .read("CRM", &json!({"id": "m3", "receivedDateTime": "yesterday"}))
            .unwrap_err();
        assert!(err.to_string().contains("receivedDateTime"), "{err}");
        assert!(round.read("CRM", &json!({"subject": "x"})).is_err());
        // A later row of the same message wins; a removal replaces it.
        round
            .read("CRM", &json!({"id": "m1", "@removed": {"reason": "deleted"}}))
            .unwrap();
        assert!(round.rows.is_empty());
        assert_eq!(round.removed.iter().collect::<Vec<_>>(), ["m1"]);
    }

    #[test]
    fn uids_are_stable_and_spread() {
        assert_eq!(uid_of("AAMkItem1"), uid_of("AAMkItem1"));
        assert_ne!(uid_of("AAMkItem1"), uid_of("AAMkItem2"));
    }

    /// Two ids whose 32-bit UIDs of before R-GRAPH-42 are equal (0x5664c4f9);
    /// found once by a birthday search over `AAMkUidPair{n:08}`, n counting
    /// up from 0, keeping the first 4 bytes of each SHA-256 until one repeats
    /// (85,000 ids, a fraction of a second).
    const OLD_PAIR: [&str; 2] = ["AAMkUidPair00005335", "AAMkUidPair00084183"];

    #[test]
    fn r_graph_42_uids_are_63_bits_and_the_old_pair_differs() {
        let old = |id: &str| {
            u32::from_be_bytes(
                ring::digest::digest(&ring::digest::SHA256, id.as_bytes()).as_ref()[..4]
                    .try_into()
                    .unwrap(),
            )
        };
        assert_eq!(old(OLD_PAIR[0]), old(OLD_PAIR[1]), "the pair collides in 32 bits");
        assert_ne!(uid_of(OLD_PAIR[0]), uid_of(OLD_PAIR[1]));
        // The first 63 bits: the 32 of before are their top.
        assert_eq!(uid_of(OLD_PAIR[0]) >> 31, u64::from(old(OLD_PAIR[0])));
        for id in OLD_PAIR {
            assert!(i64::try_from(uid_of(id)).is_ok(), "fits the store's BIGINT");
            let validity = uid_validity_of(id);
            assert!(validity & SCHEME_MARK != 0 && i64::try_from(validity).is_ok());
            assert!(
                validity > u64::from(u32::MAX),
                "never a UIDVALIDITY of the 32-bit scheme"
            );
        }
    }

    #[test]
    fn r_graph_43_two_ids_with_one_uid_are_an_error_naming_both() {
        // A stubbed digest that gives m1 and m3 one UID, as a collision would.
        let stub = |id: &str| if id == "m3" { 2 } else { id.len() as u64 };
        let err = uids_of("CRM", ["m1", "m22", "m3"], stub).unwrap_err();
        assert!(matches!(err, GraphError::UidCollision { uid: 2, .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("messages m1 and m3 of mail folder CRM share UID 2"),
            "{text}"
        );
        assert!(
            matches!(ConnectorError::from(err), ConnectorError::Unsupported { .. }),
            "permanent: a retry meets the same ids"
        );
        // Distinct UIDs (and one id twice) are fine.
        let uids = uids_of("CRM", ["m1", "m22", "m1"], stub).unwrap();
        assert_eq!(uids.len(), 2);
        assert_eq!(uids["m22"], 3);
    }
}
