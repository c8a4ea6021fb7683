//! Plain HTTP requests to a peer, bypassing crmsync: the "independent
//! client" that edits behind crmsync's back (as the peer's user).

use crate::peer::{PASSWORD, Peer, USER};

/// Plain HTTP requests to a peer, bypassing the connector.
pub struct Raw {
    base: String,
    client: reqwest::Client,
}

impl Peer {
    /// A plain HTTP client for this peer, as its user.
    pub fn raw(&self) -> Raw {
        Raw {
            base: self.url(),
            client: reqwest::Client::new(),
        }
    }
}

pub struct RawReply {
    pub status: u16,
    pub version: reqwest::Version,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header").to_owned())
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
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method"),
                url,
            )
            .basic_auth(USER, Some(PASSWORD))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("a raw request to the peer");
        RawReply {
            status: response.status().as_u16(),
            version: response.version(),
            headers: response.headers().clone(),
            body: response.bytes().await.expect("the reply body").to_vec(),
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
