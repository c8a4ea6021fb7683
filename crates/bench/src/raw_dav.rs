//! The server's own ceiling: a plain HTTP client PUTting vCards into a
//! collection with `If-None-Match: *` (the same conditional create crmsync
//! sends), `concurrency` requests in flight, and nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::BenchError;

pub struct RawDav {
    client: reqwest::Client,
    /// Scheme, host and port, no trailing slash.
    origin: String,
    user: String,
    password: String,
}

/// One item to PUT: its name in the collection and its body.
#[derive(Clone)]
pub struct RawItem {
    pub name: String,
    pub body: Vec<u8>,
}

impl RawDav {
    pub fn new(url: &str, user: &str, password: &str) -> RawDav {
        RawDav {
            client: reqwest::Client::new(),
            origin: url.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    /// PUTs every item into `collection_path` (absolute, ending in `/`).
    pub async fn put_all(
        self: Arc<Self>,
        collection_path: &str,
        items: Arc<Vec<RawItem>>,
        content_type: &'static str,
        concurrency: usize,
    ) -> Result<(), BenchError> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::<Result<(), BenchError>>::new();
        for _ in 0..concurrency.max(1) {
            let (me, items, next) = (self.clone(), items.clone(), next.clone());
            let base = format!("{}{}", self.origin, collection_path);
            workers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return Ok(()) };
                    me.put(&format!("{base}{}", item.name), &item.body, content_type)
                        .await?;
                }
            });
        }
        while let Some(done) = workers.join_next().await {
            done.map_err(|e| BenchError::Raw(format!("worker panicked: {e}")))??;
        }
        Ok(())
    }

    async fn put(&self, url: &str, body: &[u8], content_type: &str) -> Result<(), BenchError> {
        let response = self
            .client
            .put(url)
            .basic_auth(&self.user, Some(&self.password))
            .header("Content-Type", content_type)
            .header("If-None-Match", "*")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| BenchError::Raw(format!("PUT {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(BenchError::Raw(format!("PUT {url}: {status}")));
        }
        Ok(())
    }
}
