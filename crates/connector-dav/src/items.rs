//! Reading and writing items: batched multiget, conditional PUT and DELETE.

use std::collections::HashMap;

use crmsync_connector::{
    CollectionId, CollectionKind, ConnectorError, Etag, Fetched, FetchedItem, Href, ItemFailure, ItemMeta,
};
use reqwest::Url;

use crate::connector::Inner;
use crate::href::{checked_member, href_path, item_name_for_uid, member_name};
use crate::http::{Effect, Reply, Request, status_error};
use crate::multistatus::{Entry, error_href, error_names, parse_multistatus};
use crate::requests;
use crate::xml::Ns;

/// Marks an ETag this connector could not confirm as its own write's.
const UNCONFIRMED_ETAG_PREFIX: &str = "crmsync-unconfirmed:";

impl Inner {
    fn item_url(&self, collection: &CollectionId, href: &Href) -> Result<(Url, String), ConnectorError> {
        let name = checked_member(href.as_str()).map_err(|reason| ConnectorError::InvalidHref {
            href: href.to_string(),
            reason,
        })?;
        let url = self
            .collection_url(collection)?
            .join(&name)
            .map_err(|e| ConnectorError::InvalidHref {
                href: href.to_string(),
                reason: e.to_string(),
            })?;
        Ok((url, name))
    }

    pub async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        if hrefs.is_empty() {
            return Ok(Fetched::default());
        }
        let hinted = self.hinted_kind(collection);
        let kind = self.kind_of(collection).await?;
        let read = self.multiget(collection, hrefs, kind != CollectionKind::Contacts).await;
        // R-DAV-17: with a kind only remembered from an earlier run, a
        // refused multiget (Radicale: 403 for the wrong flavour) or an item
        // reported missing could be the wrong flavour's answer (a collection
        // replaced by another kind at the same path); the runner would take
        // a missing paired item for a deletion, and a refusal would recur
        // every run. So the kind is asked once before such an answer
        // stands, and the items are read again if it was wrong.
        if hinted.is_some() && read.as_ref().map_or(true, |f| !f.missing.is_empty()) {
            self.forget_hint(collection);
            let confirmed = self.kind_of(collection).await?;
            if confirmed != kind {
                return self
                    .multiget(collection, hrefs, confirmed != CollectionKind::Contacts)
                    .await;
            }
        }
        read
    }

    /// The multiget of `hrefs`, as a calendar's or an address book's.
    async fn multiget(
        &self,
        collection: &CollectionId,
        hrefs: &[Href],
        calendar: bool,
    ) -> Result<Fetched, ConnectorError> {
        let mut fetched = Fetched::default();
        let collection_url = self.collection_url(collection)?;
        // Canonical name → the href exactly as the caller spelled it.
        let mut asked: Vec<(String, Href)> = Vec::new();
        for href in hrefs {
            match checked_member(href.as_str()) {
                Ok(name) => asked.push((name, href.clone())),
                Err(reason) => fetched.failed.push(ItemFailure {
                    href: href.clone(),
                    error: ConnectorError::InvalidHref {
                        href: href.to_string(),
                        reason,
                    },
                }),
            }
        }
        for batch in asked.chunks(self.multiget_batch) {
            let paths: Vec<String> = batch
                .iter()
                .map(|(name, _)| format!("{}{name}", collection.as_str()))
                .collect();
            let request = Request::new("REPORT", collection_url.clone(), Effect::Read)
                .depth("1")
                .xml(requests::multiget(calendar, &paths));
            let reply = self.http.send(&request).await?;
            if (500..=599).contains(&reply.status) && batch.len() > 1 {
                // One item the server cannot serve sinks its whole multiget
                // (Xandikos answers 500 for a stored body that is not UTF-8):
                // ask one by one, so only that item fails (R-CONN-2, R-DAV-4).
                let error = status_error(&reply, &format!("multiget on {collection_url}"));
                self.get_each(collection, batch, &mut fetched, error).await?;
                continue;
            }
            if reply.status != 207 {
                return Err(status_error(&reply, &format!("multiget on {collection_url}")));
            }
            let ms = parse_multistatus(&reply.body).map_err(|d| ConnectorError::InvalidResponse {
                detail: format!("multiget on {collection_url}: {d}"),
            })?;
            let mut pending: HashMap<&str, &Href> = batch.iter().map(|(n, h)| (n.as_str(), h)).collect();
            for entry in &ms.entries {
                let path = href_path(&self.base, &entry.href);
                let Some(name) = member_name(collection.as_str(), &path) else {
                    continue;
                };
                let Some(href) = pending.remove(name.as_str()) else {
                    continue;
                };
                sort_entry(entry, href, calendar, &mut fetched);
            }
            // Hrefs the server did not answer for: ask one by one.
            let mut rest: Vec<&Href> = pending.into_values().collect();
            rest.sort();
            for href in rest {
                self.get_one(collection, href, &mut fetched).await?;
            }
        }
        Ok(fetched)
    }

    async fn get_one(
        &self,
        collection: &CollectionId,
        href: &Href,
        fetched: &mut Fetched,
    ) -> Result<(), ConnectorError> {
        let (url, _) = self.item_url(collection, href)?;
        let reply = self.http.send(&Request::new("GET", url.clone(), Effect::Read)).await?;
        take_get_reply(href, &url, reply, fetched)
    }

    /// The items of a multiget the server failed, by GET one by one. An item
    /// whose GET fails with 5xx while others answer is that item's problem
    /// (`failed`, so the runner quarantines it); when none answers, the
    /// server is in trouble and the multiget's error stands.
    async fn get_each(
        &self,
        collection: &CollectionId,
        batch: &[(String, Href)],
        fetched: &mut Fetched,
        multiget_error: ConnectorError,
    ) -> Result<(), ConnectorError> {
        let mut broken = Vec::new();
        let mut answered = false;
        for (_, href) in batch {
            let (url, _) = self.item_url(collection, href)?;
            let reply = self.http.send(&Request::new("GET", url.clone(), Effect::Read)).await?;
            if (500..=599).contains(&reply.status) {
                broken.push(ItemFailure {
                    href: href.clone(),
                    error: status_error(&reply, &format!("GET {url}")),
                });
                continue;
            }
            answered = true;
            take_get_reply(href, &url, reply, fetched)?;
        }
        if !answered {
            return Err(multiget_error);
        }
        fetched.failed.extend(broken);
        Ok(())
    }

    pub async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        let kind = self.kind_of(collection).await?;
        let content_type = kind.content_type();
        let name = format!(
            "{}.{}",
            item_name_for_uid(suggested_name),
            content_type.file_extension()
        );
        let href = Href::new(name);
        let (url, _) = self.item_url(collection, &href)?;
        let request = Request::new("PUT", url.clone(), Effect::Write)
            .header("If-None-Match", "*")
            .body(body, media_type(kind));
        let reply = self.http.send_write(&request, &self.write_window(collection)).await?;
        match reply.status {
            200..=299 => {
                let etag = self.etag_after_write(&url, &reply, body).await?;
                Ok(ItemMeta { href, etag })
            }
            412 => Err(ConnectorError::AlreadyExists { href }),
            // RFC 6352 §6.3.2.1 / RFC 4791 §5.3.2.1: the UID is taken by another
            // item; the listing will show it and pairing finds it (R-CONN-3).
            409 if error_names(&reply.body, "no-uid-conflict") => {
                let existing = error_href(&reply.body, "no-uid-conflict")
                    .and_then(|h| member_name(collection.as_str(), &href_path(&self.base, &h)))
                    .map(Href::new)
                    .unwrap_or(href);
                Err(ConnectorError::AlreadyExists { href: existing })
            }
            _ => Err(status_error(&reply, &format!("creating {url}"))),
        }
    }

    pub async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        let kind = self.kind_of(collection).await?;
        let (url, _) = self.item_url(collection, href)?;
        let request = Request::new("PUT", url.clone(), Effect::Write)
            .header("If-Match", expected.as_str())
            .body(body, media_type(kind));
        let reply = self.http.send_write(&request, &self.write_window(collection)).await?;
        match reply.status {
            200..=299 => self.etag_after_write(&url, &reply, body).await,
            412 => Err(self.precondition_or_gone(&url, href).await),
            _ => Err(status_error(&reply, &format!("updating {url}"))),
        }
    }

    pub async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        let (url, _) = self.item_url(collection, href)?;
        let request = Request::new("DELETE", url.clone(), Effect::Write).header("If-Match", expected.as_str());
        let reply = self.http.send_write(&request, &self.write_window(collection)).await?;
        match reply.status {
            200..=299 => Ok(()),
            412 => Err(self.precondition_or_gone(&url, href).await),
            _ => Err(status_error(&reply, &format!("deleting {url}"))),
        }
    }

    /// `If-Match` fails both for a changed and for a missing item (RFC 9110
    /// §13.1.1); the caller must know which: gone is `NotFound` (a delete is
    /// then done, an update must not resurrect it).
    async fn precondition_or_gone(&self, url: &Url, href: &Href) -> ConnectorError {
        match self.current_etag(url).await {
            Ok(None) => ConnectorError::NotFound { what: url.to_string() },
            Ok(Some(_)) => ConnectorError::PreconditionFailed { href: href.clone() },
            Err(e) => e,
        }
    }

    /// The ETag of a write: the reply's strong ETag header or, for servers
    /// that leave it out, a follow-up GET. If the body read back is not the
    /// one written (a concurrent edit, or a server that rewrites items), the
    /// ETag is marked unconfirmed so it never matches: the next sync re-reads
    /// the item and merges instead of taking someone's edit for ours (R-DAV-6).
    async fn etag_after_write(&self, url: &Url, reply: &Reply, written: &[u8]) -> Result<Etag, ConnectorError> {
        if let Some(etag) = reply.etag().filter(|e| !e.starts_with("W/")) {
            return Ok(Etag::new(etag));
        }
        let read = self.http.send(&Request::new("GET", url.clone(), Effect::Read)).await?;
        match (read.status, read.etag()) {
            (200, Some(etag)) if read.body == written => Ok(Etag::new(etag)),
            (200, Some(etag)) => Ok(Etag::new(format!("{UNCONFIRMED_ETAG_PREFIX}{etag}"))),
            (200, None) => Err(ConnectorError::InvalidResponse {
                detail: format!("{url} reports no ETag after a successful write"),
            }),
            _ => Err(status_error(&read, &format!("reading back {url}"))),
        }
    }

    /// The item's ETag now, `None` when it does not exist.
    async fn current_etag(&self, url: &Url) -> Result<Option<String>, ConnectorError> {
        let (url, reply) = self.propfind(url.clone(), "0", requests::getetag()).await?;
        match reply.status {
            207 => {
                let ms = parse_multistatus(&reply.body).map_err(|d| ConnectorError::InvalidResponse {
                    detail: format!("PROPFIND {url}: {d}"),
                })?;
                Ok(ms.entries.iter().find_map(Entry::etag))
            }
            404 | 410 => Ok(None),
            _ => Err(status_error(&reply, &format!("PROPFIND {url}"))),
        }
    }
}

/// Puts one multiget entry into found, missing or failed (R-CONN-2).
fn sort_entry(entry: &Entry, href: &Href, calendar: bool, fetched: &mut Fetched) {
    let (ns, data) = if calendar {
        (Ns::CalDav, "calendar-data")
    } else {
        (Ns::CardDav, "address-data")
    };
    if entry.is_gone() {
        fetched.missing.push(href.clone());
        return;
    }
    match (entry.prop(&ns, data), entry.etag()) {
        (Some(body), Some(etag)) => fetched.found.push(FetchedItem {
            href: href.clone(),
            etag: Etag::new(etag),
            body: body.text.clone(),
        }),
        _ if entry
            .missing
            .iter()
            .any(|(name, status)| name == data && *status == 404) =>
        {
            fetched.missing.push(href.clone())
        }
        _ => fetched.failed.push(ItemFailure {
            href: href.clone(),
            error: ConnectorError::InvalidResponse {
                detail: format!(
                    "multiget gave no body or ETag for {href} (status {:?}, missing {:?})",
                    entry.status, entry.missing
                ),
            },
        }),
    }
}

fn media_type(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Contacts => "text/vcard; charset=utf-8",
        _ => "text/calendar; charset=utf-8",
    }
}

/// Sorts one GET reply into found, missing or failed.
fn take_get_reply(href: &Href, url: &Url, reply: Reply, fetched: &mut Fetched) -> Result<(), ConnectorError> {
    match (reply.status, reply.etag()) {
        (200, Some(etag)) => fetched.found.push(FetchedItem {
            href: href.clone(),
            etag: Etag::new(etag),
            body: reply.body,
        }),
        (404 | 410, _) => fetched.missing.push(href.clone()),
        (200, None) => fetched.failed.push(ItemFailure {
            href: href.clone(),
            error: ConnectorError::InvalidResponse {
                detail: format!("GET {url} returned no ETag"),
            },
        }),
        // The account itself failing is not one item's problem.
        (401 | 429, _) | (500..=599, _) => return Err(status_error(&reply, &format!("GET {url}"))),
        _ => fetched.failed.push(ItemFailure {
            href: href.clone(),
            error: status_error(&reply, &format!("GET {url}")),
        }),
    }
    Ok(())
}
