//! The XML request bodies, as small templates. Prefixes are fixed here; servers
//! answer with their own, which the reader resolves by namespace URI.

use crate::xml::escape;

const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;
const NS: &str = r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav""#;

/// PROPFIND for the named properties (already prefixed: `D:getetag`, `C:…`, `CR:…`).
pub fn propfind(props: &[&str]) -> String {
    let props: String = props.iter().map(|p| format!("<{p}/>")).collect();
    format!("{HEAD}<D:propfind {NS}><D:prop>{props}</D:prop></D:propfind>")
}

pub fn current_user_principal() -> String {
    propfind(&["D:current-user-principal"])
}

pub fn home_sets() -> String {
    propfind(&["C:calendar-home-set", "CR:addressbook-home-set"])
}

/// What discovery needs to know about each collection.
pub fn collection_props() -> String {
    propfind(&[
        "D:resourcetype",
        "D:displayname",
        "C:supported-calendar-component-set",
        "CR:supported-address-data",
    ])
}

/// The ETag listing used when sync tokens are unavailable; `sync-token` rides
/// along so the listing re-establishes a token where the server has them.
pub fn etag_listing() -> String {
    propfind(&["D:resourcetype", "D:getetag", "D:sync-token"])
}

pub fn getetag() -> String {
    propfind(&["D:getetag"])
}

/// RFC 6578 sync-collection; an empty token asks for everything.
pub fn sync_collection(token: &str) -> String {
    format!(
        "{HEAD}<D:sync-collection {NS}><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>",
        escape(token)
    )
}

/// `addressbook-multiget` (RFC 6352 §8.7) or `calendar-multiget` (RFC 4791 §7.9).
pub fn multiget(calendar: bool, hrefs: &[String]) -> String {
    let (element, data) = if calendar {
        ("C:calendar-multiget", "C:calendar-data")
    } else {
        ("CR:addressbook-multiget", "CR:address-data")
    };
    let hrefs: String = hrefs
        .iter()
        .map(|h| format!("<D:href>{}</D:href>", escape(h)))
        .collect();
    format!("{HEAD}<{element} {NS}><D:prop><D:getetag/><{data}/></D:prop>{hrefs}</{element}>")
}

/// Extended MKCOL (RFC 5689) creating an address book.
pub fn mkcol_addressbook(display_name: &str) -> String {
    format!(
        "{HEAD}<D:mkcol {NS}><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>{}</D:displayname></D:prop></D:set></D:mkcol>",
        escape(display_name)
    )
}

/// MKCALENDAR (RFC 4791 §5.3.1) restricted to the given components.
pub fn mkcalendar(display_name: &str, components: &[&str]) -> String {
    let comps: String = components.iter().map(|c| format!(r#"<C:comp name="{c}"/>"#)).collect();
    format!(
        "{HEAD}<C:mkcalendar {NS}><D:set><D:prop><D:displayname>{}</D:displayname><C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>",
        escape(display_name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Ns, parse};

    #[test]
    fn templates_are_well_formed_and_escape_user_text() {
        let body = multiget(false, &["/u/c/a&b.vcf".to_owned()]);
        let root = parse(body.as_bytes()).unwrap();
        assert!(root.is(&Ns::CardDav, "addressbook-multiget"));
        assert_eq!(root.child(&Ns::Dav, "href").unwrap().text_str(), "/u/c/a&b.vcf");

        let cal = parse(mkcalendar("R&D <team>", &["VEVENT", "VTODO"]).as_bytes()).unwrap();
        let set = cal.find(&Ns::CalDav, "supported-calendar-component-set").unwrap();
        let names: Vec<_> = set.children.iter().filter_map(|c| c.attr("name")).collect();
        assert_eq!(names, ["VEVENT", "VTODO"]);
        assert_eq!(cal.find(&Ns::Dav, "displayname").unwrap().text_str(), "R&D <team>");

        let sync = parse(sync_collection("http://radicale.org/ns/sync/x").as_bytes()).unwrap();
        assert_eq!(
            sync.child(&Ns::Dav, "sync-token").unwrap().text_str(),
            "http://radicale.org/ns/sync/x"
        );
        assert!(
            parse(mkcol_addressbook("c").as_bytes())
                .unwrap()
                .find(&Ns::CardDav, "addressbook")
                .is_some()
        );
    }
}
