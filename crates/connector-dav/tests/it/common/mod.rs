//! Test harness: real Radicale and Xandikos servers on free ports of
//! 127.0.0.1 with throw-away storage and the connector config for them
//! (`crmsync_testkit::Peer`, feature `dav`), plus a raw HTTP client.
#![allow(dead_code)]

pub mod suite;

use crmsync_dav::ServerFamily;

pub use crmsync_testkit::{PASSWORD, Peer, PeerKind, USER};

/// The server family a peer kind is, as the connector names it.
pub fn family(kind: PeerKind) -> ServerFamily {
    kind.family()
}

/// A plain HTTP client: the "independent client" editing behind crmsync's back.
pub trait RawClient {
    fn raw(&self) -> Raw;
}

impl RawClient for Peer {
    fn raw(&self) -> Raw {
        Raw {
            base: self.url(),
            client: reqwest::Client::new(),
        }
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
