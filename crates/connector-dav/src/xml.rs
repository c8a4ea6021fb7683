//! A lenient XML reader for DAV responses: a small element tree whose names are
//! resolved to namespace *URIs* (prefixes differ per server: `D:`, `ns0:`, none)
//! and whose text is kept as raw bytes (item bodies may not be valid UTF-8, and
//! they must reach the runner exactly as stored).

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

/// The namespaces DAV responses use, recognised leniently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ns {
    Dav,
    CalDav,
    CardDav,
    Other(String),
    None,
}

impl Ns {
    /// Matches by URI, tolerating case and misspellings seen in the wild:
    /// Xandikos 0.4 answers MKCALENDAR in `urn:ietf:params:xml:ns:carldav:`.
    fn classify(uri: &[u8]) -> Ns {
        let uri = String::from_utf8_lossy(uri).to_ascii_lowercase();
        let uri = uri.trim();
        if uri == "dav:" {
            Ns::Dav
        } else if uri.starts_with("urn:ietf:params:xml:ns:") && uri.contains("card") {
            Ns::CardDav
        } else if uri.starts_with("urn:ietf:params:xml:ns:ca") && uri.contains("dav") {
            Ns::CalDav
        } else {
            Ns::Other(uri.to_owned())
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub ns: Ns,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Character data directly inside this element, entities resolved.
    pub text: Vec<u8>,
    pub children: Vec<Element>,
}

impl Element {
    pub fn is(&self, ns: &Ns, name: &str) -> bool {
        &self.ns == ns && self.name == name
    }

    /// The first child called `name` in `ns`.
    pub fn child(&self, ns: &Ns, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(&'a self, ns: &'a Ns, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Any descendant (depth first) called `name` in `ns`.
    pub fn find(&self, ns: &Ns, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find_map(|c| if c.is(ns, name) { Some(c) } else { c.find(ns, name) })
    }

    /// The text as a string, whitespace trimmed (for hrefs, statuses, ETags).
    pub fn text_str(&self) -> String {
        String::from_utf8_lossy(&self.text).trim().to_owned()
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = NsReader::from_reader(bytes);
    let config = reader.config_mut();
    // Leniency: servers have sent mismatched end-tag prefixes and stray `&`.
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let (resolved, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| format!("malformed XML: {e}"))?;
        let ns = match resolved {
            ResolveResult::Bound(Namespace(uri)) => Ns::classify(uri),
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(prefix) => Ns::Other(String::from_utf8_lossy(&prefix).into_owned()),
        };
        match event {
            Event::Start(start) => stack.push(element(ns, &start)),
            Event::Empty(start) => {
                let done = element(ns, &start);
                close(&mut stack, &mut root, done);
            }
            Event::End(_) => {
                if let Some(done) = stack.pop() {
                    close(&mut stack, &mut root, done);
                }
            }
            Event::Text(text) => {
                if let Some(open) = stack.last_mut() {
                    open.text.extend_from_slice(&text);
                }
            }
            Event::CData(data) => {
                if let Some(open) = stack.last_mut() {
                    open.text.extend_from_slice(&data);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(open) = stack.last_mut() {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(ch)) => ch.to_string(),
                        _ => match &*reference {
                            b"amp" => "&".to_owned(),
                            b"lt" => "<".to_owned(),
                            b"gt" => ">".to_owned(),
                            b"quot" => "\"".to_owned(),
                            b"apos" => "'".to_owned(),
                            // Unknown entity: keep it verbatim rather than lose bytes.
                            other => format!("&{};", String::from_utf8_lossy(other)),
                        },
                    };
                    open.text.extend_from_slice(resolved.as_bytes());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // A truncated document still yields what was read, outermost first.
    while let Some(done) = stack.pop() {
        close(&mut stack, &mut root, done);
    }
    root.ok_or_else(|| "empty XML document".to_owned())
}

fn element(ns: Ns, start: &BytesStart<'_>) -> Element {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let attrs = start
        .attributes()
        .flatten()
        .map(|a| {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
            (key, value)
        })
        .collect();
    Element {
        ns,
        name,
        attrs,
        text: Vec::new(),
        children: Vec::new(),
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, done: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None => {
            if root.is_none() {
                *root = Some(done);
            }
        }
    }
}

/// Escapes text for an XML request body.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_by_namespace_uri_whatever_the_prefix() {
        let a = parse(br#"<D:multistatus xmlns:D="DAV:"><D:response/></D:multistatus>"#).unwrap();
        let b = parse(br#"<multistatus xmlns="DAV:"><response/></multistatus>"#).unwrap();
        let c = parse(br#"<ns0:multistatus xmlns:ns0="DAV:"><ns0:response/></ns0:multistatus>"#).unwrap();
        for doc in [&a, &b, &c] {
            assert!(doc.is(&Ns::Dav, "multistatus"));
            assert!(doc.child(&Ns::Dav, "response").is_some());
        }
        let foreign = parse(br#"<x:multistatus xmlns:x="urn:other"/>"#).unwrap();
        assert!(!foreign.is(&Ns::Dav, "multistatus"));
    }

    #[test]
    fn xandikos_misspelt_caldav_namespace_is_still_caldav() {
        // The MKCALENDAR reply Xandikos 0.4.10 really sends.
        let doc = parse(br#"<ns0:mkcalendar-response xmlns:ns0="urn:ietf:params:xml:ns:carldav:" xmlns:ns1="DAV:" xmlns:ns2="urn:ietf:params:xml:ns:caldav"><ns1:propstat><ns1:status>HTTP/1.1 200 OK</ns1:status></ns1:propstat></ns0:mkcalendar-response>"#).unwrap();
        assert!(doc.is(&Ns::CalDav, "mkcalendar-response"));
        assert_eq!(doc.find(&Ns::Dav, "status").unwrap().text_str(), "HTTP/1.1 200 OK");
        assert_eq!(Ns::classify(b"urn:ietf:params:xml:ns:carddav"), Ns::CardDav);
        assert_eq!(Ns::classify(b"URN:IETF:PARAMS:XML:NS:CALDAV"), Ns::CalDav);
    }

    #[test]
    fn item_bodies_keep_crlf_entities_and_non_utf8_bytes() {
        let mut doc = b"<d xmlns=\"DAV:\"><data>A&amp;B &lt;x&gt;&#13;\nC\r\n".to_vec();
        doc.push(0xff);
        doc.extend_from_slice(b"<![CDATA[<raw>]]></data></d>");
        let root = parse(&doc).unwrap();
        let data = root.child(&Ns::Dav, "data").unwrap();
        let mut expected = b"A&B <x>\r\nC\r\n".to_vec();
        expected.push(0xff);
        expected.extend_from_slice(b"<raw>");
        assert_eq!(data.text, expected);
    }

    #[test]
    fn attributes_and_truncated_documents_are_read_leniently() {
        let root = parse(br#"<a xmlns="DAV:"><b version="3.0" content-type="text/vcard"/><c>open"#).unwrap();
        assert_eq!(root.child(&Ns::Dav, "b").unwrap().attr("version"), Some("3.0"));
        assert!(root.child(&Ns::Dav, "c").is_some());
        assert!(parse(b"").is_err());
    }
}
