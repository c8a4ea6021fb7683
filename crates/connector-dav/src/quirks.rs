//! What each known server does differently, as data, in one place. The
//! connector's code handles every entry leniently for all servers (so an
//! unknown server that shares a quirk works too): token rejection is decided
//! by [`token_rejected`], namespaces are matched by [`crate::xml`], the vCard
//! version element by discovery. The table says who does what, is shown via
//! [`crate::DavConnector::server_family`], and each entry is checked against the
//! live server by the integration tests (`quirks_table_matches_the_real_server`),
//! so a server upgrade that changes behaviour is noticed.

use serde::Serialize;

/// Server implementations crmsync knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerFamily {
    Radicale,
    Xandikos,
    /// Anything else: tolerate every known variant.
    Generic,
}

/// One server's deviations from (or choices within) the RFCs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quirks {
    pub family: ServerFamily,
    /// Status of a `sync-collection` REPORT with a token the server does not
    /// know: RFC 6578 says 403 with `DAV:valid-sync-token`; Xandikos sends 412
    /// (with the same element).
    pub invalid_sync_token_status: u16,
    /// An empty-token `sync-collection` also lists members deleted earlier, as
    /// 404 entries (Radicale). A complete listing must drop them.
    pub initial_sync_lists_deleted: bool,
    /// The `DAV:` response header names `sync-collection`. Radicale supports the
    /// report without advertising it, so the connector always tries the report.
    pub advertises_sync_collection: bool,
    /// The child of `CARDDAV:supported-address-data` naming a vCard version:
    /// RFC 6352 says `address-data-type`; Xandikos writes `content-type`.
    pub address_data_type_element: &'static str,
    /// Status of a successful DELETE (200 vs 204): both are success.
    pub delete_status: u16,
    /// Status of a PROPFIND on `/.well-known/carddav` (a redirect to `/`).
    pub well_known_status: u16,
    /// PROPFIND/REPORT bodies need `Content-Type: application/xml` (else 415).
    /// crmsync always sends it.
    pub requires_xml_content_type: bool,
    /// The MKCALENDAR reply names the CalDAV namespace misspelt
    /// (`urn:ietf:params:xml:ns:carldav:`); names are matched leniently.
    pub misspells_caldav_namespace: bool,
    /// Speaks HTTP/1.0 without keep-alive: every request opens a connection, so
    /// concurrency beyond the server's threads only queues.
    pub keep_alive: bool,
    /// Writes one collection takes at once without answering 423 Locked;
    /// `None`: as many as `concurrency` allows, learned down on a 423
    /// (R-SCALE-7). Xandikos commits each write to the collection's git
    /// repository under one index lock.
    pub writes_at_once: Option<usize>,
}

pub const RADICALE: Quirks = Quirks {
    family: ServerFamily::Radicale,
    invalid_sync_token_status: 403,
    initial_sync_lists_deleted: true,
    advertises_sync_collection: false,
    address_data_type_element: "address-data-type",
    delete_status: 200,
    well_known_status: 301,
    requires_xml_content_type: false,
    misspells_caldav_namespace: false,
    keep_alive: false,
    writes_at_once: None,
};

pub const XANDIKOS: Quirks = Quirks {
    family: ServerFamily::Xandikos,
    invalid_sync_token_status: 412,
    initial_sync_lists_deleted: false,
    advertises_sync_collection: true,
    address_data_type_element: "content-type",
    delete_status: 204,
    well_known_status: 302,
    requires_xml_content_type: true,
    misspells_caldav_namespace: true,
    keep_alive: true,
    writes_at_once: Some(1),
};

pub const GENERIC: Quirks = Quirks {
    family: ServerFamily::Generic,
    invalid_sync_token_status: 403,
    initial_sync_lists_deleted: true,
    advertises_sync_collection: true,
    address_data_type_element: "address-data-type",
    delete_status: 204,
    well_known_status: 301,
    requires_xml_content_type: true,
    misspells_caldav_namespace: false,
    keep_alive: true,
    writes_at_once: None,
};

impl ServerFamily {
    pub fn quirks(self) -> &'static Quirks {
        match self {
            ServerFamily::Radicale => &RADICALE,
            ServerFamily::Xandikos => &XANDIKOS,
            ServerFamily::Generic => &GENERIC,
        }
    }

    /// Recognises a server from its `Server` header, if it names itself.
    /// (Radicale behind its built-in WSGI server and Xandikos behind aiohttp
    /// do not, hence [`ServerFamily::from_sync_token`].)
    pub fn from_server_header(header: &str) -> ServerFamily {
        let header = header.to_ascii_lowercase();
        if header.contains("radicale") {
            ServerFamily::Radicale
        } else if header.contains("xandikos") {
            ServerFamily::Xandikos
        } else {
            ServerFamily::Generic
        }
    }

    /// Recognises a server from the shape of a sync token it issued: Radicale
    /// uses `http://radicale.org/ns/sync/<sha256>`, Xandikos a git commit id
    /// (40 lower-case hex digits).
    pub fn from_sync_token(token: &str) -> ServerFamily {
        if token.starts_with("http://radicale.org/ns/sync/") {
            ServerFamily::Radicale
        } else if token.len() == 40 && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            ServerFamily::Xandikos
        } else {
            ServerFamily::Generic
        }
    }
}

/// Whether a `sync-collection` reply means "token rejected, list instead".
/// Lenient on purpose, covering every server in the table: any 4xx naming
/// `DAV:valid-sync-token` (RFC 6578's 403, Xandikos's 412), and a bare 412,
/// because the REPORT carries no precondition header a 412 could be about.
pub fn token_rejected(status: u16, names_valid_sync_token: bool) -> bool {
    ((400..500).contains(&status) && names_valid_sync_token) || status == 412
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_recognised_by_header_or_token_shape() {
        assert_eq!(ServerFamily::from_server_header("Radicale/3.9"), ServerFamily::Radicale);
        assert_eq!(ServerFamily::from_server_header("Xandikos/0.4"), ServerFamily::Xandikos);
        assert_eq!(
            ServerFamily::from_server_header("WSGIServer/0.2 CPython/3.11.7"),
            ServerFamily::Generic
        );
        assert_eq!(
            ServerFamily::from_sync_token("http://radicale.org/ns/sync/4c659bc2ee5a"),
            ServerFamily::Radicale
        );
        assert_eq!(
            ServerFamily::from_sync_token("630751c4f7b2db603b163f4ef81fc9c96c9cec8a"),
            ServerFamily::Xandikos
        );
        assert_eq!(
            ServerFamily::from_sync_token("http://sabre.io/ns/sync/5"),
            ServerFamily::Generic
        );
        assert_eq!(ServerFamily::from_sync_token("not-a-token"), ServerFamily::Generic);
    }

    #[test]
    fn every_servers_token_rejection_is_recognised_and_permission_errors_are_not() {
        for q in [&RADICALE, &XANDIKOS, &GENERIC] {
            assert!(token_rejected(q.invalid_sync_token_status, true), "{:?}", q.family);
        }
        assert!(token_rejected(412, false), "a bare 412 can only be about the token");
        assert!(!token_rejected(403, false), "a bare 403 is a permission problem");
        assert!(
            !token_rejected(404, false),
            "a missing collection is not a token problem"
        );
        assert!(!token_rejected(500, true));
    }
}
