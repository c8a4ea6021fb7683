//! Finding an account's collections from one URL (RFC 6764 well-known URIs,
//! RFC 5397 `current-user-principal`, the CalDAV/CardDAV home sets) and
//! creating the ones a profile needs (extended MKCOL, MKCALENDAR).

use crmsync_connector::{Collection, CollectionId, CollectionKind, ConnectorError, VCardVersion};
use percent_encoding::percent_decode_str;
use reqwest::Url;

use crate::connector::Inner;
use crate::href::{canonical_path, href_path, item_name_for_uid};
use crate::http::{Effect, Reply, Request, status_error};
use crate::multistatus::{Entry, parse_multistatus};
use crate::requests;
use crate::retry::retryable_status;
use crate::xml::Ns;

/// Where an account keeps its address books and calendars.
#[derive(Clone, Debug)]
pub struct Homes {
    pub addressbook: Vec<Url>,
    pub calendar: Vec<Url>,
}

const MAX_REDIRECTS: usize = 5;

impl Inner {
    pub async fn homes(&self) -> Result<Homes, ConnectorError> {
        let mut cached = self.homes.lock().await;
        if let Some(homes) = &*cached {
            return Ok(homes.clone());
        }
        let homes = self.find_homes().await?;
        *cached = Some(homes.clone());
        Ok(homes)
    }

    async fn find_homes(&self) -> Result<Homes, ConnectorError> {
        let mut principal = self.principal_at(self.base.clone()).await?;
        if principal.is_none() {
            // RFC 6764 §5: the well-known URIs lead to the DAV context path.
            for well_known in ["/.well-known/carddav", "/.well-known/caldav"] {
                let url = self.join(&self.base, well_known)?;
                principal = self.principal_at(url).await?;
                if principal.is_some() {
                    break;
                }
            }
        }
        // A server without current-user-principal: the URL given is the principal.
        let principal = principal.unwrap_or_else(|| self.base.clone());
        let (url, reply) = self.propfind(principal, "0", requests::home_sets()).await?;
        let mut homes = Homes {
            addressbook: Vec::new(),
            calendar: Vec::new(),
        };
        if reply.status == 207 {
            let ms = parse_multistatus(&reply.body).map_err(|d| invalid(&url, &d))?;
            for entry in &ms.entries {
                for (ns, name, into) in [
                    (Ns::CardDav, "addressbook-home-set", &mut homes.addressbook),
                    (Ns::CalDav, "calendar-home-set", &mut homes.calendar),
                ] {
                    if let Some(set) = entry.prop(&ns, name) {
                        for href in set.children_named(&Ns::Dav, "href") {
                            into.push(self.join(&url, &href.text_str())?);
                        }
                    }
                }
            }
        } else if matches!(reply.status, 401 | 403) || retryable_status(reply.status) {
            // A server that is down or shedding load says nothing about where
            // the homes are: guessing "the URL is the home" here would be
            // cached for the connector's life (R-DAV-13).
            return Err(status_error(&reply, &format!("PROPFIND {url}")));
        }
        // No home sets advertised: the principal (or the URL given) holds the collections.
        if homes.addressbook.is_empty() {
            homes.addressbook.push(url.clone());
        }
        if homes.calendar.is_empty() {
            homes.calendar.push(url);
        }
        tracing::debug!(?homes, "DAV homes discovered");
        Ok(homes)
    }

    /// The principal `url` names via `current-user-principal`, if it says.
    async fn principal_at(&self, url: Url) -> Result<Option<Url>, ConnectorError> {
        let (url, reply) = self.propfind(url, "0", requests::current_user_principal()).await?;
        match reply.status {
            207 => {
                let ms = parse_multistatus(&reply.body).map_err(|d| invalid(&url, &d))?;
                for entry in &ms.entries {
                    if let Some(href) = entry
                        .prop(&Ns::Dav, "current-user-principal")
                        .and_then(|p| p.child(&Ns::Dav, "href"))
                    {
                        return Ok(Some(self.join(&url, &href.text_str())?));
                    }
                }
                Ok(None)
            }
            // Wrong credentials stop here with a clear message; trying other
            // URLs would only hide it.
            401 => Err(status_error(&reply, &format!("PROPFIND {url}"))),
            // R-DAV-13: an outage (5xx, 429 after the retries) is not "this
            // URL has no principal"; falling through to the well-known URIs
            // would end in wrong, cached homes.
            status if retryable_status(status) => Err(status_error(&reply, &format!("PROPFIND {url}"))),
            _ => Ok(None),
        }
    }

    /// PROPFIND following redirects with the same method and body (reqwest
    /// would turn a redirected PROPFIND into a GET).
    pub async fn propfind(
        &self,
        mut url: Url,
        depth: &'static str,
        body: String,
    ) -> Result<(Url, Reply), ConnectorError> {
        for _ in 0..=MAX_REDIRECTS {
            let request = Request::new("PROPFIND", url.clone(), Effect::Read)
                .depth(depth)
                .xml(body.clone());
            let reply = self.http.send(&request).await?;
            self.note_server_header(reply.header("server"));
            match (reply.status, reply.header("location")) {
                (301 | 302 | 303 | 307 | 308, Some(location)) => url = self.join(&url, location)?,
                _ => return Ok((url, reply)),
            }
        }
        Err(ConnectorError::InvalidResponse {
            detail: format!("more than {MAX_REDIRECTS} redirects from {url}"),
        })
    }

    fn join(&self, base: &Url, href: &str) -> Result<Url, ConnectorError> {
        base.join(href)
            .map_err(|e| invalid(base, &format!("bad href {href:?}: {e}")))
    }

    pub async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        let homes = self.homes().await?;
        let mut seen = Vec::new();
        let mut collections: Vec<Collection> = Vec::new();
        for home in homes.addressbook.iter().chain(&homes.calendar) {
            if seen.contains(home) {
                continue;
            }
            seen.push(home.clone());
            let (url, reply) = self.propfind(home.clone(), "1", requests::collection_props()).await?;
            if reply.status != 207 {
                return Err(status_error(&reply, &format!("listing collections in {url}")));
            }
            let ms = parse_multistatus(&reply.body).map_err(|d| invalid(&url, &d))?;
            for entry in &ms.entries {
                if let Some(c) = self.describe(entry)
                    && !collections.iter().any(|k| k.id == c.id)
                {
                    self.remember_kind(&c);
                    collections.push(c);
                }
            }
        }
        collections.sort_by(|a, b| a.id.cmp(&b.id));
        *self.discovered.lock().unwrap_or_else(|p| p.into_inner()) = Some(collections.clone());
        Ok(collections)
    }

    /// The collections `ensure_collection` looks among (R-DAV-18): this
    /// connector's last discovery with what it created since, else a
    /// discovery now. The runner discovers once per run and asks
    /// `ensure_collection` only for a class that discovery had no
    /// collection for; listing the homes again a moment later (one PROPFIND
    /// per home, per collection a first sync creates) answered what it had
    /// just been told. What a kept listing can miss is what another client
    /// did to the homes since, and the create below stays safe against it:
    /// a collection made at our path meanwhile is answered 405 and then
    /// described, its kind checked, as before; one made elsewhere under the
    /// same display name is the one case that ends with two collections,
    /// which the same race a moment before a fresh listing gives too. A
    /// connector lives for one run (`crmsync sync`, each scheduled run), and
    /// every `discover` replaces what is kept.
    async fn known_collections(&self) -> Result<Vec<Collection>, ConnectorError> {
        let kept = self.discovered.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match kept {
            Some(collections) => Ok(collections),
            None => self.discover().await,
        }
    }

    /// Adds a collection this connector created (or found at its path) to
    /// what `ensure_collection` looks among.
    fn note_created(&self, collection: &Collection) {
        if let Some(kept) = self.discovered.lock().unwrap_or_else(|p| p.into_inner()).as_mut()
            && !kept.iter().any(|c| c.id == collection.id)
        {
            kept.push(collection.clone());
            kept.sort_by(|a, b| a.id.cmp(&b.id));
        }
    }

    /// A collection from its PROPFIND entry, or `None` for anything else.
    fn describe(&self, entry: &Entry) -> Option<Collection> {
        let resourcetype = entry.prop(&Ns::Dav, "resourcetype")?;
        let path = href_path(&self.base, &entry.href);
        let (kind, vcard_version) = if resourcetype.child(&Ns::CardDav, "addressbook").is_some() {
            (CollectionKind::Contacts, vcard_version(entry))
        } else if resourcetype.child(&Ns::CalDav, "calendar").is_some() {
            (calendar_kind(entry)?, None)
        } else {
            return None;
        };
        let display_name = entry
            .prop_text(&Ns::Dav, "displayname")
            .unwrap_or_else(|| last_segment(&path));
        Some(Collection {
            id: CollectionId::new(path),
            display_name,
            kind,
            content_type: kind.content_type(),
            vcard_version,
        })
    }

    /// The kind of a collection not seen by discovery in this process.
    pub async fn kind_of(&self, id: &CollectionId) -> Result<CollectionKind, ConnectorError> {
        if let Some(kind) = self.known_kind(id).or_else(|| self.hinted_kind(id)) {
            return Ok(kind);
        }
        let url = self.collection_url(id)?;
        let (url, reply) = self.propfind(url, "0", requests::collection_props()).await?;
        if reply.status != 207 {
            return Err(status_error(&reply, &format!("collection {url}")));
        }
        let ms = parse_multistatus(&reply.body).map_err(|d| invalid(&url, &d))?;
        let collection = ms
            .entries
            .iter()
            .find_map(|e| self.describe(e))
            .ok_or_else(|| ConnectorError::NotFound {
                what: format!("address book or calendar at {url}"),
            })?;
        self.remember_kind(&collection);
        Ok(collection.kind)
    }

    pub async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        let homes = self.homes().await?;
        let home = match kind {
            CollectionKind::Contacts => homes.addressbook.first(),
            _ => homes.calendar.first(),
        }
        .cloned()
        .ok_or_else(|| ConnectorError::Unsupported {
            what: format!("the account has no home for {kind:?} collections"),
        })?;
        let target = self.join(&home, &format!("{}/", item_name_for_uid(name)))?;
        let target_id = canonical_path(target.path());

        let existing = self.known_collections().await?;
        let named: Vec<&Collection> = existing
            .iter()
            .filter(|c| c.id.as_str() == target_id || c.display_name == name || last_segment(c.id.as_str()) == name)
            .collect();
        if let Some(found) = named.iter().find(|c| c.kind.serves(kind)) {
            return Ok((*found).clone());
        }
        if let Some(occupant) = named.iter().find(|c| c.id.as_str() == target_id) {
            return Err(ConnectorError::KindMismatch {
                collection: name.to_owned(),
                found: occupant.kind,
                wanted: kind,
            });
        }

        let (method, body) = match kind {
            CollectionKind::Contacts => ("MKCOL", requests::mkcol_addressbook(name)),
            CollectionKind::Events => ("MKCALENDAR", requests::mkcalendar(name, &["VEVENT"])),
            CollectionKind::Tasks => ("MKCALENDAR", requests::mkcalendar(name, &["VTODO"])),
            CollectionKind::EventsAndTasks => ("MKCALENDAR", requests::mkcalendar(name, &["VEVENT", "VTODO"])),
        };
        let reply = self
            .http
            .send(&Request::new(method, target.clone(), Effect::Write).xml(body))
            .await?;
        match reply.status {
            200..=299 => {}
            // 405: something already lives there (e.g. created concurrently).
            405 => {}
            401 => return Err(status_error(&reply, &format!("{method} {target}"))),
            403 | 501 => {
                return Err(ConnectorError::Unsupported {
                    what: format!(
                        "the server refused to create collection {name:?} at {target} (HTTP {})",
                        reply.status
                    ),
                });
            }
            _ => return Err(status_error(&reply, &format!("{method} {target}"))),
        }
        let id = CollectionId::new(target_id);
        let created = self.kind_of_fresh(&id).await?;
        self.note_created(&created);
        if !created.kind.serves(kind) {
            return Err(ConnectorError::KindMismatch {
                collection: name.to_owned(),
                found: created.kind,
                wanted: kind,
            });
        }
        Ok(created)
    }

    /// Describes a collection by a fresh PROPFIND (after creating it).
    async fn kind_of_fresh(&self, id: &CollectionId) -> Result<Collection, ConnectorError> {
        let url = self.collection_url(id)?;
        let (url, reply) = self.propfind(url, "0", requests::collection_props()).await?;
        if reply.status != 207 {
            return Err(status_error(&reply, &format!("collection {url}")));
        }
        let ms = parse_multistatus(&reply.body).map_err(|d| invalid(&url, &d))?;
        let collection =
            ms.entries
                .iter()
                .find_map(|e| self.describe(e))
                .ok_or_else(|| ConnectorError::InvalidResponse {
                    detail: format!("{url} is not an address book or calendar after creating it"),
                })?;
        self.remember_kind(&collection);
        Ok(collection)
    }
}

/// Which items a calendar takes: RFC 4791 §5.2.3, no set means every component.
fn calendar_kind(entry: &Entry) -> Option<CollectionKind> {
    let comps: Vec<String> = entry
        .prop(&Ns::CalDav, "supported-calendar-component-set")
        .map(|set| {
            set.children
                .iter()
                .filter_map(|c| c.attr("name"))
                .map(str::to_ascii_uppercase)
                .collect()
        })
        .unwrap_or_default();
    let all = comps.is_empty();
    let events = all || comps.iter().any(|c| c == "VEVENT");
    let tasks = all || comps.iter().any(|c| c == "VTODO");
    match (events, tasks) {
        (true, true) => Some(CollectionKind::EventsAndTasks),
        (true, false) => Some(CollectionKind::Events),
        (false, true) => Some(CollectionKind::Tasks),
        // Journals or free/busy only: nothing crmsync syncs.
        (false, false) => None,
    }
}

/// The vCard version the server advertises first (its preferred one).
/// RFC 6352 names the element `address-data-type`; Xandikos `content-type`
/// (see [`crate::quirks`]), so any child with a `version` attribute counts.
fn vcard_version(entry: &Entry) -> Option<VCardVersion> {
    let supported = entry.prop(&Ns::CardDav, "supported-address-data")?;
    supported
        .children
        .iter()
        .filter_map(|c| c.attr("version"))
        .find_map(|v| match v.trim() {
            "3.0" => Some(VCardVersion::V3),
            "4.0" => Some(VCardVersion::V4),
            _ => None,
        })
}

fn last_segment(path: &str) -> String {
    let segment = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn invalid(url: &Url, detail: &str) -> ConnectorError {
    ConnectorError::InvalidResponse {
        detail: format!("{url}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multistatus::parse_multistatus;

    fn entries(body: &[u8]) -> Vec<Entry> {
        parse_multistatus(body).unwrap().entries
    }

    #[test]
    fn calendar_kinds_follow_the_component_set() {
        let body = br#"<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<response><href>/a/</href><propstat><prop><C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/><C:comp name="VJOURNAL"/></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/b/</href><propstat><prop><C:supported-calendar-component-set><C:comp name="vtodo"/></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/c/</href><propstat><prop><C:supported-calendar-component-set><C:comp name="VJOURNAL"/></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/d/</href><propstat><prop/><status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>"#;
        let kinds: Vec<_> = entries(body).iter().map(calendar_kind).collect();
        assert_eq!(
            kinds,
            [
                Some(CollectionKind::EventsAndTasks),
                Some(CollectionKind::Tasks),
                None,
                Some(CollectionKind::EventsAndTasks)
            ]
        );
    }

    #[test]
    fn vcard_version_is_read_from_rfc_and_xandikos_spellings() {
        let body = br#"<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
<response><href>/rfc/</href><propstat><prop><CR:supported-address-data><CR:address-data-type content-type="text/vcard" version="4.0"/><CR:address-data-type content-type="text/vcard" version="3.0"/></CR:supported-address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/x/</href><propstat><prop><CR:supported-address-data><CR:content-type content-type="text/vcard" version="3.0"/></CR:supported-address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/none/</href><propstat><prop/><status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>"#;
        let versions: Vec<_> = entries(body).iter().map(vcard_version).collect();
        assert_eq!(versions, [Some(VCardVersion::V4), Some(VCardVersion::V3), None]);
        assert_eq!(last_segment("/u/My%20Cal/"), "My Cal");
    }
}
