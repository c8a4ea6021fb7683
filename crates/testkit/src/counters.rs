//! What the proxy did, so a test can assert that its faults really happened.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fault::Fault;
use crate::http1::Head;

/// One request the proxy forwarded, whole, for a client that sends the
/// same requests again (the bench's raw floor, R-BENCH-11).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub target: String,
    /// The header lines as sent to the server (with `Connection: close`).
    pub headers: Vec<(String, String)>,
    /// The body bytes as framed on the wire.
    pub body: Vec<u8>,
    start: String,
}

impl RecordedRequest {
    /// A request as a client would send it over HTTP/1.1.
    pub fn new(method: &str, target: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        RecordedRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body,
            start: format!("{method} {target} HTTP/1.1"),
        }
    }

    /// The request's bytes, without the headers named in `dropping` (e.g.
    /// `If-Match`, to send a write again after its ETag moved on).
    pub fn to_bytes_without(&self, dropping: &[&str]) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (name, value) in &self.headers {
            if !dropping.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

#[derive(Debug, Default)]
pub struct FaultCounters {
    injected: [AtomicU64; 8],
    passed: AtomicU64,
    held: AtomicU64,
    /// `METHOD target` of every request whose head arrived, in order.
    requests: Mutex<Vec<String>>,
    /// Every forwarded request whole, once [`Self::record_whole`] asked.
    recorded: Mutex<Option<Vec<RecordedRequest>>>,
}

impl FaultCounters {
    pub(crate) fn injected(&self, fault: Fault) {
        self.injected[fault.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn passed(&self) {
        self.passed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn held(&self) {
        self.held.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request(&self, method: &str, target: &str) {
        self.requests
            .lock()
            .expect("request log")
            .push(format!("{method} {target}"));
    }

    /// From now on, keeps every forwarded request whole (off by default:
    /// a long fault test needs only `METHOD target`).
    pub fn record_whole(&self) {
        self.recorded.lock().expect("recorded").get_or_insert_with(Vec::new);
    }

    pub(crate) fn forwarded(&self, head: &Head, body: &[u8]) {
        if let Some(recorded) = self.recorded.lock().expect("recorded").as_mut() {
            let (method, target) = head.method_and_target();
            // As `forward` sends it: one request per connection.
            let mut headers: Vec<(String, String)> = head
                .headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("connection") && !n.eq_ignore_ascii_case("keep-alive"))
                .cloned()
                .collect();
            headers.push(("Connection".into(), "close".into()));
            recorded.push(RecordedRequest {
                method: method.to_owned(),
                target: target.to_owned(),
                headers,
                body: body.to_vec(),
                start: head.start.clone(),
            });
        }
    }

    /// The requests forwarded since [`Self::record_whole`], whole, in the
    /// order they were forwarded (empty when recording is off).
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.recorded.lock().expect("recorded").clone().unwrap_or_default()
    }

    /// `METHOD target` of every request the proxy saw, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }

    /// How often `fault` was injected.
    pub fn get(&self, fault: Fault) -> u64 {
        self.injected[fault.index()].load(Ordering::Relaxed)
    }

    /// Requests forwarded untouched (held ones included).
    pub fn passed_through(&self) -> u64 {
        self.passed.load(Ordering::Relaxed)
    }

    /// Requests held by a [`crate::Hold`] before being forwarded.
    pub fn held_requests(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Every fault kind with its count, for assertion messages.
    pub fn snapshot(&self) -> BTreeMap<Fault, u64> {
        Fault::ALL.iter().map(|f| (*f, self.get(*f))).collect()
    }
}
