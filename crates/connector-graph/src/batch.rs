//! Creates ride in JSON batches (R-GRAPH-17,
//! https://learn.microsoft.com/en-us/graph/json-batching): up to 20 POSTs in
//! one `POST /$batch`, at most `concurrency` batches in flight (R-GRAPH-4).
//!
//! The runner calls `create` once per item, many at a time. Each call
//! queues its POST and then, until its POST has left the queue, takes a
//! batch slot and ships whatever is queued (up to 20) in a task of its own.
//! So a batch goes out as soon as a slot is free, with everything that
//! waited for it: no timer decides, and a queue never waits for a caller
//! that went away (a cancelled call takes its POST back out of the queue;
//! once shipped, the task finishes the batch whoever waits for it).
//!
//! Each answer inside the batch is read as the same request alone would be
//! (R-GRAPH-18): 201 is the created item; 429/503 were not performed and
//! are sent again after `Retry-After` (at most `max_retries` rounds); 500,
//! 502, 504, and a batch whose reply was lost as a whole, may have been
//! performed: those contacts and events are looked up by UID with `$filter`
//! once, an item found is `AlreadyExists` (never a second copy), the others
//! are sent again; tasks, which cannot be filtered, keep the error. Any
//! other status is that request's error, as alone.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crmsync_connector::{ConnectorError, Href};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::GraphError;
use crate::connector::Inner;
use crate::folder::{Folder, Resource, segment};
use crate::http::{Call, PREFER_IMMUTABLE_ID, backoff, parse_retry_after, status_error};

/// Graph's limit of requests in one batch.
pub(crate) const MAX_BATCH: usize = 20;

type Answer = Result<Value, ConnectorError>;

/// A POST waiting for a batch.
struct Pending {
    ticket: u64,
    folder: Folder,
    uid: String,
    body: Value,
    reply: oneshot::Sender<Answer>,
}

impl Pending {
    fn answer(self, answer: Answer) {
        // The caller may have gone (its run stopped); the item is then found
        // by UID at the next listing, as after a crash.
        let _ = self.reply.send(answer);
    }
}

pub(crate) struct CreateQueue {
    waiting: Mutex<VecDeque<Pending>>,
    slots: Arc<Semaphore>,
    tickets: AtomicU64,
}

impl CreateQueue {
    pub(crate) fn new(batches_in_flight: usize) -> Self {
        CreateQueue {
            waiting: Mutex::new(VecDeque::new()),
            slots: Arc::new(Semaphore::new(batches_in_flight.max(1))),
            tickets: AtomicU64::new(0),
        }
    }

    fn queued(&self, ticket: u64) -> bool {
        self.waiting.lock().expect("lock").iter().any(|p| p.ticket == ticket)
    }

    fn take(&self) -> Vec<Pending> {
        let mut waiting = self.waiting.lock().expect("lock");
        let n = waiting.len().min(MAX_BATCH);
        waiting.drain(..n).collect()
    }
}

/// Takes a cancelled caller's POST back out of the queue.
struct Withdraw<'a> {
    queue: &'a CreateQueue,
    ticket: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.queue
            .waiting
            .lock()
            .expect("lock")
            .retain(|p| p.ticket != self.ticket);
    }
}

/// POSTs `body` (crmsync's UID `uid` already in it) into `folder` through
/// a batch; the created item.
pub(crate) async fn create(inner: &Arc<Inner>, folder: Folder, uid: String, body: Value) -> Answer {
    let queue = &inner.creates;
    let ticket = queue.tickets.fetch_add(1, Ordering::Relaxed);
    let (reply, answer) = oneshot::channel();
    queue.waiting.lock().expect("lock").push_back(Pending {
        ticket,
        folder,
        uid,
        body,
        reply,
    });
    let withdraw = Withdraw { queue, ticket };
    // Let the other creates the runner started in the same round queue up
    // too, so the first batch is not a batch of one.
    tokio::task::yield_now().await;
    while queue.queued(ticket) {
        let slot = queue.slots.clone().acquire_owned().await.expect("never closed");
        let batch = queue.take();
        if !batch.is_empty() {
            tokio::spawn(ship(inner.clone(), batch, slot));
        }
    }
    drop(withdraw);
    answer.await.unwrap_or_else(|_| {
        Err(ConnectorError::InvalidResponse {
            detail: "a batch ended without an answer".into(),
        })
    })
}

/// How one request of a batch went.
enum Outcome {
    Created(Value),
    /// Not performed (429, 503): send again after the wait.
    Throttled(ConnectorError, Option<Duration>),
    /// Maybe performed: look before sending again.
    Unsure(ConnectorError),
    Failed(ConnectorError),
}

impl Outcome {
    /// `error` of one request inside the batch.
    fn of(error: &GraphError) -> Outcome {
        match error {
            GraphError::Status {
                status: 429 | 503,
                retry_after,
                ..
            } => Outcome::Throttled(error.to_connector_error(), *retry_after),
            e => Outcome::of_batch(e),
        }
    }

    /// `error` of the batch as a whole, for each of its requests: its 429
    /// and 503 were already waited out (`GraphHttp::send`).
    fn of_batch(error: &GraphError) -> Outcome {
        if error.is_ambiguous() {
            Outcome::Unsure(error.to_connector_error())
        } else {
            Outcome::Failed(error.to_connector_error())
        }
    }
}

/// Sends `batch` and answers every POST in it; holds `_slot` until done.
async fn ship(inner: Arc<Inner>, mut batch: Vec<Pending>, _slot: OwnedSemaphorePermit) {
    let mut throttled_rounds = 0;
    let mut looked = false;
    while !batch.is_empty() {
        for p in &batch {
            inner.known.sent(&p.folder.id, &p.uid);
        }
        let outcomes = send(&inner, &batch).await;
        let mut again = Vec::new();
        let mut unsure = Vec::new();
        let mut wait: Option<Duration> = None;
        for (p, outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Created(item) => p.answer(Ok(item)),
                Outcome::Throttled(_, retry_after) if throttled_rounds < inner.config.max_retries => {
                    let this = retry_after.unwrap_or_else(|| backoff(throttled_rounds));
                    wait = Some(wait.map_or(this, |w| w.max(this)));
                    again.push(p);
                }
                Outcome::Unsure(_) if !looked && p.folder.resource != Resource::Tasks => unsure.push(p),
                Outcome::Throttled(e, _) | Outcome::Unsure(e) | Outcome::Failed(e) => p.answer(Err(e)),
            }
        }
        if !unsure.is_empty() {
            // R-SAFE-2: one look per POST whose answer was lost, then once more.
            looked = true;
            for p in unsure {
                match inner.find_by_uid(&p.folder, &p.uid).await {
                    Ok(Some(id)) => p.answer(Err(ConnectorError::AlreadyExists { href: Href::new(id) })),
                    Ok(None) => again.push(p),
                    Err(e) => p.answer(Err(e.into())),
                }
            }
        }
        if let Some(wait) = wait {
            throttled_rounds += 1;
            tracing::info!(
                wait_secs = wait.as_secs(),
                requests = again.len(),
                "Graph throttled requests of a batch; waiting"
            );
            inner.clock.sleep(wait).await;
        }
        batch = again;
    }
}

/// One `POST /$batch` of `batch`: each request's outcome, in order.
async fn send(inner: &Inner, batch: &[Pending]) -> Vec<Outcome> {
    let mailbox = segment(&inner.config.mailbox);
    let requests: Vec<Value> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "id": i.to_string(),
                "method": "POST",
                "url": format!("/users/{mailbox}/{}", p.folder.items_path()),
                // Headers of the batch do not reach its requests.
                "headers": {"Content-Type": "application/json", "Prefer": PREFER_IMMUTABLE_ID},
                "body": p.body,
            })
        })
        .collect();
    let url = format!("{}/$batch", inner.config.base_url.trim_end_matches('/'));
    let body = json!({ "requests": requests }).to_string();
    let reply = inner
        .http
        .json(&Call {
            method: Method::POST,
            url: &url,
            if_match: None,
            body: Some(body.as_bytes()),
        })
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(e) => return batch.iter().map(|_| Outcome::of_batch(&e)).collect(),
    };
    let responses = reply["responses"].as_array().map(Vec::as_slice).unwrap_or_default();
    (0..batch.len())
        .map(|i| {
            let id = i.to_string();
            match responses.iter().find(|r| r["id"].as_str() == Some(id.as_str())) {
                Some(response) => outcome(response, inner.http.now()),
                // A batch reply that leaves a request out: as if its answer was lost.
                None => Outcome::Unsure(ConnectorError::InvalidResponse {
                    detail: format!("the batch reply has no response {id}"),
                }),
            }
        })
        .collect()
}

/// A request's answer inside the batch, read as if it came alone.
fn outcome(response: &Value, now: SystemTime) -> Outcome {
    let status = response["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    // An answer without a status says nothing of whether the request was
    // performed: as a lost reply (R-GRAPH-18), never a permanent failure.
    if status == 0 {
        return Outcome::Unsure(ConnectorError::InvalidResponse {
            detail: "a batch response without a status".into(),
        });
    }
    if (200..300).contains(&status) {
        let item = &response["body"];
        return match (item["id"].as_str(), item["@odata.etag"].as_str()) {
            (Some(_), Some(_)) => Outcome::Created(item.clone()),
            _ => Outcome::Unsure(ConnectorError::InvalidResponse {
                detail: "a created item without id or @odata.etag".into(),
            }),
        };
    }
    let retry_after = response["headers"].as_object().and_then(|headers| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.as_str())
            .and_then(|v| parse_retry_after(v, now))
    });
    Outcome::of(&status_error(status, &response["body"], retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: Value, body: Value) -> Outcome {
        outcome(
            &json!({"id": "0", "status": status, "headers": headers, "body": body}),
            SystemTime::UNIX_EPOCH,
        )
    }

    fn graph_error(code: &str) -> Value {
        json!({"error": {"code": code, "message": "m"}})
    }

    // R-GRAPH-18: each answer inside a batch means what it means alone.
    #[test]
    fn r_graph_18_answers_inside_a_batch_read_as_alone() {
        let created = answer(201, json!({}), json!({"id": "AAMk", "@odata.etag": "W/\"1\""}));
        assert!(matches!(created, Outcome::Created(item) if item["id"] == "AAMk"));
        // No status: whether it was performed is unknown (looked up, never a failure).
        assert!(matches!(
            outcome(&json!({"id": "1", "body": {}}), SystemTime::now()),
            Outcome::Unsure(ConnectorError::InvalidResponse { .. })
        ));
        assert!(matches!(
            answer(201, json!({}), json!({"givenName": "no id"})),
            Outcome::Unsure(ConnectorError::InvalidResponse { .. })
        ));
        let throttled = answer(429, json!({"Retry-After": "7"}), graph_error("TooManyRequests"));
        assert!(matches!(
            throttled,
            Outcome::Throttled(ConnectorError::RateLimited { .. }, Some(d)) if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            answer(503, json!({"retry-after": "3"}), graph_error("ServiceUnavailable")),
            Outcome::Throttled(_, Some(d)) if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            answer(412, json!({}), graph_error("ErrorIrresolvableConflict")),
            Outcome::Failed(ConnectorError::PreconditionFailed { .. })
        ));
        assert!(matches!(
            answer(404, json!({}), graph_error("ErrorItemNotFound")),
            Outcome::Failed(ConnectorError::NotFound { .. })
        ));
        assert!(matches!(
            answer(400, json!({}), graph_error("ErrorInvalidRequest")),
            Outcome::Failed(ConnectorError::Server { status: 400, .. })
        ));
        for status in [500, 502, 504] {
            assert!(matches!(
                answer(status, json!({}), graph_error("generalException")),
                Outcome::Unsure(ConnectorError::Server { .. })
            ));
        }
    }
}
