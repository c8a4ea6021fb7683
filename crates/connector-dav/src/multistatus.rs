//! Reading RFC 4918 `multistatus` replies (PROPFIND, REPORT) into plain data.

use crate::xml::{Element, Ns, parse};

/// One `DAV:response` of a multistatus.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub href: String,
    /// The response-level status (RFC 6578 uses it for deleted members: 404).
    pub status: Option<u16>,
    /// Properties that came back with 200.
    pub found: Vec<Element>,
    /// Names of properties the server reported with a non-2xx status.
    pub missing: Vec<(String, u16)>,
}

impl Entry {
    pub fn prop(&self, ns: &Ns, name: &str) -> Option<&Element> {
        self.found.iter().find(|p| p.is(ns, name))
    }

    /// The trimmed text of a found property.
    pub fn prop_text(&self, ns: &Ns, name: &str) -> Option<String> {
        self.prop(ns, name).map(Element::text_str).filter(|t| !t.is_empty())
    }

    pub fn etag(&self) -> Option<String> {
        self.prop_text(&Ns::Dav, "getetag")
    }

    pub fn is_collection(&self) -> bool {
        self.prop(&Ns::Dav, "resourcetype")
            .is_some_and(|rt| rt.child(&Ns::Dav, "collection").is_some())
    }

    /// 404 at response level: the member is gone.
    pub fn is_gone(&self) -> bool {
        self.status == Some(404)
    }
}

/// A parsed multistatus body.
#[derive(Debug, Default)]
pub struct Multistatus {
    pub entries: Vec<Entry>,
    /// RFC 6578: the new token of a sync-collection report.
    pub sync_token: Option<String>,
}

pub fn parse_multistatus(body: &[u8]) -> Result<Multistatus, String> {
    let root = parse(body)?;
    if !root.is(&Ns::Dav, "multistatus") {
        return Err(format!("expected DAV:multistatus, got {}", root.name));
    }
    let entries = root.children_named(&Ns::Dav, "response").map(entry).collect::<Vec<_>>();
    let sync_token = root
        .child(&Ns::Dav, "sync-token")
        .map(Element::text_str)
        .filter(|t| !t.is_empty());
    Ok(Multistatus { entries, sync_token })
}

fn entry(response: &Element) -> Entry {
    let mut entry = Entry {
        href: response
            .child(&Ns::Dav, "href")
            .map(Element::text_str)
            .unwrap_or_default(),
        status: response
            .child(&Ns::Dav, "status")
            .and_then(|s| status_code(&s.text_str())),
        ..Entry::default()
    };
    for propstat in response.children_named(&Ns::Dav, "propstat") {
        let status = propstat
            .child(&Ns::Dav, "status")
            .and_then(|s| status_code(&s.text_str()))
            .unwrap_or(200);
        let Some(prop) = propstat.child(&Ns::Dav, "prop") else {
            continue;
        };
        for p in &prop.children {
            if (200..300).contains(&status) {
                entry.found.push(p.clone());
            } else {
                entry.missing.push((p.name.clone(), status));
            }
        }
    }
    entry
}

/// `HTTP/1.1 404 Not Found` → 404.
pub fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether an error body names the DAV precondition `name` (RFC 4918 §16),
/// e.g. `valid-sync-token` or `no-uid-conflict`.
pub fn error_names(body: &[u8], name: &str) -> bool {
    parse(body).is_ok_and(|root| root.is(&Ns::Dav, "error") && root.children.iter().any(|c| c.name == name))
}

/// The href inside a precondition element, e.g. the conflicting item of a
/// CardDAV/CalDAV `no-uid-conflict`.
pub fn error_href(body: &[u8], name: &str) -> Option<String> {
    let root = parse(body).ok()?;
    let condition = root.children.iter().find(|c| c.name == name)?;
    condition
        .find(&Ns::Dav, "href")
        .map(Element::text_str)
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radicale_sync_report_with_deleted_member_and_token() {
        let body = br#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:"><sync-token>http://radicale.org/ns/sync/bb31</sync-token><response><href>/u/contacts/a%40b.vcf</href><status>HTTP/1.1 404 Not Found</status></response><response><href>/u/contacts/c.vcf</href><propstat><prop><getetag>"e1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        let ms = parse_multistatus(body).unwrap();
        assert_eq!(ms.sync_token.as_deref(), Some("http://radicale.org/ns/sync/bb31"));
        assert_eq!(ms.entries.len(), 2);
        assert!(ms.entries[0].is_gone());
        assert_eq!(ms.entries[1].etag().as_deref(), Some("\"e1\""));
        assert!(!ms.entries[1].is_gone());
    }

    #[test]
    fn propstats_split_found_and_missing_properties() {
        let body = br#"<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:href>/user/contacts/crm/</ns0:href><ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status><ns0:prop><ns0:resourcetype><ns0:collection /></ns0:resourcetype></ns0:prop></ns0:propstat><ns0:propstat><ns0:status>HTTP/1.1 404 Not Found</ns0:status><ns0:prop><ns0:sync-token /></ns0:prop></ns0:propstat></ns0:response></ns0:multistatus>"#;
        let ms = parse_multistatus(body).unwrap();
        let e = &ms.entries[0];
        assert!(e.is_collection());
        assert_eq!(e.missing, vec![("sync-token".to_owned(), 404)]);
        assert!(e.prop(&Ns::Dav, "sync-token").is_none());
    }

    #[test]
    fn precondition_errors_are_recognised() {
        let radicale = br#"<?xml version='1.0' encoding='utf-8'?><error xmlns="DAV:"><valid-sync-token /></error>"#;
        assert!(error_names(radicale, "valid-sync-token"));
        assert!(!error_names(radicale, "no-uid-conflict"));
        let conflict = br#"<error xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><CR:no-uid-conflict><href>/u/c/x.vcf</href></CR:no-uid-conflict></error>"#;
        assert!(error_names(conflict, "no-uid-conflict"));
        assert_eq!(error_href(conflict, "no-uid-conflict").as_deref(), Some("/u/c/x.vcf"));
        assert!(parse_multistatus(b"<html>oops</html>").is_err());
    }
}
