//! Change detection: RFC 6578 `sync-collection`, falling back to a PROPFIND
//! ETag listing when the server has no tokens or rejects ours.

use std::collections::{BTreeMap, BTreeSet};

use crmsync_connector::{ChangeSet, CollectionId, ConnectorError, Etag, Href, ItemMeta, SyncToken};
use reqwest::Url;
use sha2::{Digest, Sha256};

use crate::connector::Inner;
use crate::href::{href_path, member_name};
use crate::http::{Effect, Request, status_error};
use crate::multistatus::{error_names, parse_multistatus};
use crate::quirks::token_rejected;
use crate::requests;

/// Tokens this connector makes up for servers without RFC 6578: a digest of
/// the ETag listing, so an unchanged collection still answers "nothing new".
const LISTING_TOKEN_PREFIX: &str = "crmsync-listing:";

/// A server truncating its sync report (507 on the collection) is asked again
/// from the token it gave, at most this often per call.
const MAX_SYNC_PAGES: usize = 50;

enum SyncOutcome {
    Done(ChangeSet),
    /// No token support, or the token was rejected: list instead.
    List,
}

impl Inner {
    pub async fn changes(
        &self,
        collection: &CollectionId,
        since: Option<&SyncToken>,
    ) -> Result<ChangeSet, ConnectorError> {
        let url = self.collection_url(collection)?;
        if let Some(token) = since
            && token.as_str().starts_with(LISTING_TOKEN_PREFIX)
        {
            return self.listing(&url, collection, Some(token)).await;
        }
        let token = since.map(SyncToken::as_str).unwrap_or("");
        if !token.is_empty() {
            self.note_token(token);
        }
        match self.sync_report(&url, collection, token).await? {
            SyncOutcome::Done(changes) => Ok(changes),
            SyncOutcome::List => {
                tracing::info!(collection = %collection, "sync token unusable; listing the collection instead");
                self.listing(&url, collection, None).await
            }
        }
    }

    async fn sync_report(
        &self,
        url: &Url,
        collection: &CollectionId,
        token: &str,
    ) -> Result<SyncOutcome, ConnectorError> {
        let initial = token.is_empty();
        let mut token = token.to_owned();
        let mut changed: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut deleted: BTreeSet<String> = BTreeSet::new();
        for _ in 0..MAX_SYNC_PAGES {
            let request = Request::new("REPORT", url.clone(), Effect::Read)
                .depth("0")
                .xml(requests::sync_collection(&token));
            let reply = self.http.send(&request).await?;
            if reply.status != 207 {
                let names_token = error_names(&reply.body, "valid-sync-token");
                if !initial && token_rejected(reply.status, names_token) {
                    return Ok(SyncOutcome::List);
                }
                let unsupported = matches!(reply.status, 400 | 405 | 415 | 422 | 501)
                    || (reply.status == 403 && error_names(&reply.body, "supported-report"));
                if unsupported {
                    return Ok(SyncOutcome::List);
                }
                return Err(status_error(&reply, &format!("sync-collection on {url}")));
            }
            let ms = parse_multistatus(&reply.body).map_err(|d| ConnectorError::InvalidResponse {
                detail: format!("sync-collection on {url}: {d}"),
            })?;
            let mut truncated = false;
            for entry in &ms.entries {
                let path = href_path(&self.base, &entry.href);
                if path == collection.as_str() {
                    // RFC 6578 §3.6: 507 on the collection = more to come.
                    truncated |= entry.status == Some(507);
                    continue;
                }
                let Some(name) = member_name(collection.as_str(), &path) else {
                    continue;
                };
                if entry.is_gone() {
                    changed.remove(&name);
                    deleted.insert(name);
                } else if entry.status.is_none_or(|s| (200..300).contains(&s)) {
                    deleted.remove(&name);
                    changed.insert(name, entry.etag());
                }
            }
            token = ms.sync_token.ok_or_else(|| ConnectorError::InvalidResponse {
                detail: format!("sync-collection on {url} returned no sync-token"),
            })?;
            self.note_token(&token);
            if !truncated {
                break;
            }
        }
        if changed.values().any(Option::is_none) {
            // A server that lists changes without ETags: the listing has them.
            return Ok(SyncOutcome::List);
        }
        // Radicale lists members deleted before an empty token as 404 entries;
        // a complete listing never carries deletions (R-CONN-1).
        if initial {
            deleted.clear();
        }
        Ok(SyncOutcome::Done(ChangeSet {
            changed: changed
                .into_iter()
                .map(|(name, etag)| ItemMeta {
                    href: Href::new(name),
                    etag: Etag::new(etag.unwrap_or_default()),
                })
                .collect(),
            deleted: deleted.into_iter().map(Href::new).collect(),
            new_token: SyncToken::new(token),
            complete: initial,
        }))
    }

    /// The PROPFIND Depth 1 ETag listing: a complete listing with a fresh
    /// token (the server's own, else a digest of the listing). `since` is a
    /// listing digest given before: if it still matches, nothing changed.
    async fn listing(
        &self,
        url: &Url,
        collection: &CollectionId,
        since: Option<&SyncToken>,
    ) -> Result<ChangeSet, ConnectorError> {
        let (url, reply) = self.propfind(url.clone(), "1", requests::etag_listing()).await?;
        if reply.status != 207 {
            return Err(status_error(&reply, &format!("listing {url}")));
        }
        let ms = parse_multistatus(&reply.body).map_err(|d| ConnectorError::InvalidResponse {
            detail: format!("listing {url}: {d}"),
        })?;
        let mut items = BTreeMap::new();
        let mut server_token = None;
        for entry in &ms.entries {
            let path = href_path(&self.base, &entry.href);
            if path == collection.as_str() {
                server_token = entry.prop_text(&crate::xml::Ns::Dav, "sync-token");
                continue;
            }
            if entry.is_collection() {
                continue;
            }
            if let (Some(name), Some(etag)) = (member_name(collection.as_str(), &path), entry.etag()) {
                items.insert(name, etag);
            }
        }
        let digest = listing_token(&items);
        if since.is_some_and(|t| t.as_str() == digest) {
            return Ok(ChangeSet {
                changed: Vec::new(),
                deleted: Vec::new(),
                new_token: SyncToken::new(digest),
                complete: false,
            });
        }
        let new_token = match server_token {
            Some(token) => {
                self.note_token(&token);
                token
            }
            None => digest,
        };
        Ok(ChangeSet {
            changed: items
                .into_iter()
                .map(|(name, etag)| ItemMeta {
                    href: Href::new(name),
                    etag: Etag::new(etag),
                })
                .collect(),
            deleted: Vec::new(),
            new_token: SyncToken::new(new_token),
            complete: true,
        })
    }
}

/// The made-up token of a listing: SHA-256 over the sorted (name, ETag) pairs.
fn listing_token(items: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (name, etag) in items {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(etag.as_bytes());
        hasher.update([b'\n']);
    }
    format!("{LISTING_TOKEN_PREFIX}{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_tokens_change_with_any_name_or_etag() {
        let mut items = BTreeMap::from([("a.vcf".to_owned(), "\"1\"".to_owned())]);
        let first = listing_token(&items);
        assert!(first.starts_with(LISTING_TOKEN_PREFIX));
        assert_eq!(first, listing_token(&items.clone()), "same listing, same token");
        items.insert("a.vcf".into(), "\"2\"".into());
        let second = listing_token(&items);
        assert_ne!(first, second);
        items.insert("b.vcf".into(), "\"1\"".into());
        assert_ne!(second, listing_token(&items));
    }
}
