//! Test harness: real Radicale and Xandikos servers on free ports of
//! 127.0.0.1 with throw-away storage (started by `crmsync-testkit`, killed
//! when the [`Peer`] is dropped), plus the connector config and a raw HTTP
//! client for them.
#![allow(dead_code)]

pub mod suite;

use std::ops::{Deref, DerefMut};

use crmsync_dav::{DavConfig, DavConnector, RetryConfig, ServerFamily};

pub use crmsync_testkit::{PASSWORD, PeerKind, USER};

/// The server family a peer kind is, as the connector names it.
pub fn family(kind: PeerKind) -> ServerFamily {
    match kind {
        PeerKind::Radicale | PeerKind::RadicaleWithPassword => ServerFamily::Radicale,
        PeerKind::Xandikos => ServerFamily::Xandikos,
    }
}

/// A running DAV server (see [`crmsync_testkit::Peer`]).
pub struct Peer(crmsync_testkit::Peer);

impl Peer {
    pub fn start(kind: PeerKind) -> Peer {
        Peer(crmsync_testkit::Peer::start(kind))
    }

    /// Config with the right credentials and quick retries (tests must not wait).
    pub fn config(&self) -> DavConfig {
        DavConfig {
            retry: RetryConfig {
                max_retries: 2,
                base_delay_ms: 20,
                max_delay_ms: 100,
                max_retry_after_secs: 1,
            },
            // Only turns a hang into a failure: a big PUT to a Python server on a
            // loaded 2-core machine took over 20 s once, and failed a good run.
            timeout_secs: 300,
            ..DavConfig::new(self.url()).with_basic(USER, PASSWORD)
        }
    }

    pub fn connector(&self) -> DavConnector {
        DavConnector::new(&self.config()).expect("connector")
    }

    /// A plain HTTP client: the "independent client" editing behind crmsync's back.
    pub fn raw(&self) -> Raw {
        Raw {
            base: self.url(),
            client: reqwest::Client::new(),
        }
    }
}

impl Deref for Peer {
    type Target = crmsync_testkit::Peer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Peer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Plain HTTP requests to a peer, bypassing the connector.
pub struct Raw {
    base: String,
    client: reqwest::Client,
}

pub struct RawReply {
    pub status: u16,
    pub version: reqwest::Version,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Raw {
    /// `path` is absolute on the server (`/user/contacts/x.vcf`).
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawReply {
        let url = format!("{}{}", self.base.trim_end_matches('/'), path);
        let mut request = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .basic_auth(USER, Some(PASSWORD))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("raw request");
        RawReply {
            status: response.status().as_u16(),
            version: response.version(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    pub async fn put(&self, path: &str, body: &[u8]) -> RawReply {
        self.send("PUT", path, &[("Content-Type", "text/vcard")], body).await
    }

    pub async fn xml(&self, method: &str, path: &str, depth: &str, body: &str) -> RawReply {
        self.send(
            method,
            path,
            &[("Content-Type", "application/xml"), ("Depth", depth)],
            body.as_bytes(),
        )
        .await
    }
}
