//! What a test can switch on in the Graph test server, and what it counted.
//! Every fault is off until a test turns it on, and each one is counted when
//! it fires, so a test can prove it really happened.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::watch;

#[derive(Debug)]
pub struct GraphSwitches {
    throttle: AtomicU64,
    unavailable: AtomicU64,
    retry_after_secs: AtomicU64,
    empty_pages: AtomicBool,
    page_size: AtomicUsize,
    generation: AtomicU64,
    gone_code: Mutex<&'static str>,
    held: watch::Sender<bool>,
    /// The next token answer expires this many seconds after it is issued.
    token_lifetime_secs: AtomicU64,
    lost_replies: AtomicU64,
    failures_after_work: AtomicU64,
    /// `$value` (MIME) requests answered before the rest fail with 500.
    mime_budget: Mutex<Option<u64>>,
    /// A PATCH "in Outlook" of every instance the next listing answers.
    instance_edit: Mutex<Option<serde_json::Map<String, serde_json::Value>>>,
}

impl Default for GraphSwitches {
    fn default() -> Self {
        GraphSwitches {
            throttle: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
            retry_after_secs: AtomicU64::new(7),
            empty_pages: AtomicBool::new(false),
            page_size: AtomicUsize::new(0),
            generation: AtomicU64::new(1),
            gone_code: Mutex::new("syncStateNotFound"),
            held: watch::channel(false).0,
            token_lifetime_secs: AtomicU64::new(3599),
            lost_replies: AtomicU64::new(0),
            failures_after_work: AtomicU64::new(0),
            mime_budget: Mutex::new(None),
            instance_edit: Mutex::new(None),
        }
    }
}

impl GraphSwitches {
    /// The next `n` requests to `/v1.0` answer 429 with `Retry-After`.
    pub fn throttle_next(&self, n: u64, retry_after_secs: u64) {
        self.retry_after_secs.store(retry_after_secs, Ordering::SeqCst);
        self.throttle.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests to `/v1.0` answer 503 with `Retry-After`.
    pub fn unavailable_next(&self, n: u64, retry_after_secs: u64) {
        self.retry_after_secs.store(retry_after_secs, Ordering::SeqCst);
        self.unavailable.store(n, Ordering::SeqCst);
    }

    /// The next `n` HTTP requests to `/v1.0` (a `$batch` counts once) are
    /// performed, but their replies are cut off after the headers: the
    /// client cannot tell whether they happened.
    pub fn lose_next_replies(&self, n: u64) {
        self.lost_replies.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests that succeed (alone or inside a `$batch`) are
    /// performed and then answered 500 `generalException`.
    pub fn fail_next_after_work(&self, n: u64) {
        self.failures_after_work.store(n, Ordering::SeqCst);
    }

    /// Every page of a delta round is preceded by an empty page.
    pub fn set_empty_pages(&self, on: bool) {
        self.empty_pages.store(on, Ordering::SeqCst);
    }

    /// Rows per delta page at most, whatever the client asks for with
    /// `Prefer: odata.maxpagesize` (a server may always send fewer). Unset:
    /// Graph's default of 10 rows, or what the client asks up to Graph's
    /// 200.
    pub fn set_page_size(&self, rows: usize) {
        self.page_size.store(rows.max(1), Ordering::SeqCst);
    }

    /// Every delta token issued so far answers 410 Gone with `code` (Graph
    /// uses `syncStateNotFound` and `resyncRequired`).
    pub fn expire_delta_tokens(&self, code: &'static str) {
        *self.gone_code.lock().expect("lock") = code;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// While on, requests to `/v1.0` wait (counted as in flight) until it is turned off.
    pub fn hold_requests(&self, on: bool) {
        self.held.send_replace(on);
    }

    /// Access tokens issued from now on last this long.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.token_lifetime_secs.store(secs, Ordering::SeqCst);
    }

    pub(crate) fn token_lifetime(&self) -> u64 {
        self.token_lifetime_secs.load(Ordering::SeqCst)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn gone_code(&self) -> &'static str {
        *self.gone_code.lock().expect("lock")
    }

    /// Rows of the next delta page for a client that `asked` for at most
    /// that many.
    pub(crate) fn rows_per_page(&self, asked: Option<usize>) -> usize {
        match self.page_size.load(Ordering::SeqCst) {
            0 => asked.map_or(10, |a| a.clamp(1, 200)),
            cap => asked.map_or(cap, |a| a.clamp(1, cap)),
        }
    }

    pub(crate) fn empty_pages(&self) -> bool {
        self.empty_pages.load(Ordering::SeqCst)
    }

    /// A fault to answer this request with, if one is armed: (status, Retry-After seconds).
    pub(crate) fn take_fault(&self) -> Option<(u16, u64)> {
        let after = self.retry_after_secs.load(Ordering::SeqCst);
        if take(&self.throttle) {
            Some((429, after))
        } else if take(&self.unavailable) {
            Some((503, after))
        } else {
            None
        }
    }

    pub(crate) fn take_lost_reply(&self) -> bool {
        take(&self.lost_replies)
    }

    /// Just after the next `GET …/instances` is read, and before its
    /// answer reaches the client, every instance it lists is PATCHed with
    /// `patch` as Outlook would: the client holds etags gone stale (R-GRAPH-40).
    pub fn edit_instances_after_next_listing(&self, patch: serde_json::Map<String, serde_json::Value>) {
        *self.instance_edit.lock().expect("lock") = Some(patch);
    }

    pub(crate) fn take_instance_edit(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.instance_edit.lock().expect("lock").take()
    }

    pub(crate) fn take_failure_after_work(&self) -> bool {
        take(&self.failures_after_work)
    }

    /// After `n` more message MIME (`$value`) answers, every further one is
    /// 500 until [`GraphSwitches::heal_mime`]: a server failing part way
    /// through a scan (R-GRAPH-28).
    pub fn fail_mime_after(&self, n: u64) {
        *self.mime_budget.lock().expect("lock") = Some(n);
    }

    /// Message MIME is answered again.
    pub fn heal_mime(&self) {
        *self.mime_budget.lock().expect("lock") = None;
    }

    /// Whether this MIME request fails (counts it against the budget).
    pub(crate) fn take_mime_fault(&self) -> bool {
        let mut budget = self.mime_budget.lock().expect("lock");
        match budget.as_mut() {
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        }
    }

    pub(crate) async fn wait_while_held(&self) {
        let mut rx = self.held.subscribe();
        // An error means the sender is gone, i.e. the server is shutting down.
        let _ = rx.wait_for(|held| !*held).await;
    }
}

/// Takes one from an armed count; false when none is left.
fn take(n: &AtomicU64) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

/// What the server saw; read with [`crate::GraphServer::stats`].
#[derive(Debug, Default)]
pub struct GraphStats {
    pub(crate) http_requests: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) lost_replies: AtomicU64,
    pub(crate) failed_after_work: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) max_in_flight: AtomicU64,
    pub(crate) tokens_issued: AtomicU64,
    pub(crate) device_polls: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) unavailable: AtomicU64,
    pub(crate) gone: AtomicU64,
    pub(crate) precondition_failed: AtomicU64,
    pub(crate) without_immutable_id: AtomicU64,
    pub(crate) notifications: AtomicU64,
    pub(crate) log: Mutex<Vec<String>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphCounts {
    /// HTTP requests to `/v1.0`: a `$batch` counts once (token requests not included).
    pub http_requests: u64,
    /// `POST /v1.0/$batch` requests.
    pub batches: u64,
    /// Replies cut off by [`GraphSwitches::lose_next_replies`].
    pub lost_replies: u64,
    /// 500s after the work by [`GraphSwitches::fail_next_after_work`].
    pub failed_after_work: u64,
    /// Requests answered: each request inside a `$batch` counts, the batch
    /// itself too (token requests not included).
    pub requests: u64,
    /// HTTP requests to `/v1.0` being answered now.
    pub in_flight: u64,
    /// The most HTTP requests to `/v1.0` the server ever held at once.
    pub max_in_flight: u64,
    pub tokens_issued: u64,
    /// Polls of the token endpoint with a device code (R-GRAPH-33).
    pub device_polls: u64,
    pub throttled: u64,
    pub unavailable: u64,
    /// 410 Gone answers to expired delta tokens.
    pub gone: u64,
    pub precondition_failed: u64,
    /// Requests that lacked `Prefer: IdType="ImmutableId"`.
    pub without_immutable_id: u64,
    /// Change and lifecycle notifications sent to subscribers.
    pub notifications: u64,
    /// `METHOD path?query` of every request to `/v1.0`, in arrival order.
    pub log: Vec<String>,
}

impl GraphStats {
    /// An HTTP request arrived.
    pub(crate) fn enter(&self) {
        self.http_requests.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
    }

    pub(crate) fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn snapshot(&self) -> GraphCounts {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        GraphCounts {
            http_requests: get(&self.http_requests),
            batches: get(&self.batches),
            lost_replies: get(&self.lost_replies),
            failed_after_work: get(&self.failed_after_work),
            requests: get(&self.requests),
            in_flight: get(&self.in_flight),
            max_in_flight: get(&self.max_in_flight),
            tokens_issued: get(&self.tokens_issued),
            device_polls: get(&self.device_polls),
            throttled: get(&self.throttled),
            unavailable: get(&self.unavailable),
            gone: get(&self.gone),
            precondition_failed: get(&self.precondition_failed),
            without_immutable_id: get(&self.without_immutable_id),
            notifications: get(&self.notifications),
            log: self.log.lock().expect("lock").clone(),
        }
    }
}
