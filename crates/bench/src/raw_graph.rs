//! Graph's own ceiling: a plain HTTP client POSTing the same JSON bodies
//! crmsync created into a folder of a fresh Graph test server, with an
//! app-only token and `Prefer: IdType="ImmutableId"` as crmsync sends,
//! `concurrency` requests in flight, and nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crmsync_testkit::GraphServer;
use serde_json::Value;

use crate::error::BenchError;

/// Properties the server sets on a created item, left out of a replayed POST.
const SERVER_SET: &[&str] = &[
    "@odata.type",
    "@odata.etag",
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "type",
];

/// `item` as stored, without what the server added: the body that was POSTed.
pub fn posted_body(item: &Value) -> Vec<u8> {
    let mut body = item.clone();
    if let Some(map) = body.as_object_mut() {
        for key in SERVER_SET {
            map.remove(*key);
        }
    }
    body.to_string().into_bytes()
}

pub struct RawGraph {
    client: reqwest::Client,
    token: String,
}

impl RawGraph {
    /// Signs in at `graph`'s token endpoint (client credentials, as crmsync).
    pub async fn sign_in(graph: &GraphServer) -> Result<RawGraph, BenchError> {
        let token = graph
            .app_token()
            .await
            .map_err(|e| BenchError::Raw(format!("token: {e}")))?;
        Ok(RawGraph {
            client: reqwest::Client::new(),
            token,
        })
    }

    /// POSTs every body to `url` (a folder's items), `concurrency` at a time.
    pub async fn post_all(
        self: Arc<Self>,
        url: String,
        bodies: Arc<Vec<Vec<u8>>>,
        concurrency: usize,
    ) -> Result<(), BenchError> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::<Result<(), BenchError>>::new();
        for _ in 0..concurrency.max(1) {
            let (me, bodies, next, url) = (self.clone(), bodies.clone(), next.clone(), url.clone());
            workers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { return Ok(()) };
                    me.post(&url, body).await?;
                }
            });
        }
        while let Some(done) = workers.join_next().await {
            done.map_err(|e| BenchError::Raw(format!("worker panicked: {e}")))??;
        }
        Ok(())
    }

    async fn post(&self, url: &str, body: &[u8]) -> Result<(), BenchError> {
        let response = self
            .client
            .post(url)
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .header("Prefer", crmsync_graph::PREFER_IMMUTABLE_ID)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| BenchError::Raw(format!("POST {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(BenchError::Raw(format!("POST {url}: {status}")));
        }
        Ok(())
    }
}
