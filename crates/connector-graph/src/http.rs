//! Every request to Graph goes through here: the bearer token, `Prefer:
//! IdType="ImmutableId"` (so an item keeps its id when moved between
//! folders), at most `concurrency` requests in flight per mailbox, and waits
//! of `Retry-After` on 429/503 (the request was not performed, so writes are
//! repeated too: https://learn.microsoft.com/en-us/graph/throttling#best-practices-to-handle-throttling).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crmsync_connector::{Etag, Reach};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, IF_MATCH, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::GraphError;
use crate::clock::Clock;
use crate::token::TokenSource;

/// https://learn.microsoft.com/en-us/graph/outlook-immutable-id
pub const PREFER_IMMUTABLE_ID: &str = "IdType=\"ImmutableId\"";

/// What a delta request prefers besides immutable ids: the largest page
/// Graph gives (200 rows for contacts; the delta pages say
/// `Prefer: odata.maxpagesize`, https://learn.microsoft.com/en-us/graph/api/contact-delta
/// and https://learn.microsoft.com/en-us/graph/delta-query-events), so a
/// first sync reads its folders in a twentieth of the requests of Graph's
/// default 10 per page. Graph caps a larger value and may send fewer.
const PREFER_DELTA: &str = "IdType=\"ImmutableId\", odata.maxpagesize=200";

/// Whether `url` is a request of a delta round (its first request or a
/// next link, which carry the same preference).
fn is_delta(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or(url);
    path.ends_with("/delta") || url.contains("$skiptoken=") || url.contains("$deltatoken=")
}

/// The wait after a 429/503 without `Retry-After`: 1 s, doubling, at most a minute.
pub(crate) fn backoff(retry: u32) -> Duration {
    Duration::from_secs(1u64 << retry.min(6)).min(Duration::from_secs(60))
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    // A run (and a `$batch` slot) must not sleep for hours on one answer;
    // asked again too early, Graph only throttles again (R-GRAPH-4).
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The longest `Retry-After` waited out at once.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

pub(crate) struct GraphHttp {
    client: reqwest::Client,
    tokens: TokenSource,
    clock: Arc<dyn Clock>,
    slots: Semaphore,
    max_retries: u32,
    /// Checked before every request (R-SEC-1).
    reach: Reach,
}

/// One request: method, absolute URL, optional `If-Match` and JSON body.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: &'a str,
    pub if_match: Option<&'a Etag>,
    pub body: Option<&'a [u8]>,
}

impl<'a> Call<'a> {
    pub(crate) fn get(url: &'a str) -> Self {
        Call {
            method: Method::GET,
            url,
            if_match: None,
            body: None,
        }
    }
}

impl GraphHttp {
    pub(crate) fn new(
        client: reqwest::Client,
        tokens: TokenSource,
        clock: Arc<dyn Clock>,
        concurrency: usize,
        max_retries: u32,
        reach: Reach,
    ) -> Self {
        GraphHttp {
            client,
            tokens,
            clock,
            slots: Semaphore::new(concurrency.max(1)),
            max_retries,
            reach,
        }
    }

    /// Sends `call`, waiting out throttling; the reply body of a success (may be empty).
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Vec<u8>, GraphError> {
        let mut retries = 0;
        let mut signed_in_again = false;
        loop {
            let result = {
                let _slot = self.slots.acquire().await.expect("the semaphore is never closed");
                self.once(call).await
            };
            match result {
                Err(GraphError::Status {
                    status: 429 | 503,
                    retry_after,
                    ..
                }) if retries < self.max_retries => {
                    let wait = retry_after.unwrap_or_else(|| backoff(retries));
                    tracing::info!(
                        url = call.url,
                        wait_secs = wait.as_secs(),
                        "Graph throttled the request; waiting"
                    );
                    retries += 1;
                    self.clock.sleep(wait).await;
                }
                Err(GraphError::Status { status: 401, .. }) if !signed_in_again => {
                    signed_in_again = true;
                    self.tokens.forget().await;
                }
                other => return other,
            }
        }
    }

    /// Sends `call` and reads the reply as JSON.
    pub(crate) async fn json(&self, call: &Call<'_>) -> Result<Value, GraphError> {
        let body = self.send(call).await?;
        serde_json::from_slice(&body)
            .map_err(|e| GraphError::InvalidResponse(format!("{} gave no JSON: {e}", call.url)))
    }

    async fn once(&self, call: &Call<'_>) -> Result<Vec<u8>, GraphError> {
        // Also for the next and delta links the server hands out (R-SEC-1);
        // before the token, so a refused API base asks the token endpoint nothing.
        crate::reach::check(&self.reach, call.url).await?;
        let token = self.tokens.bearer().await?;
        let mut request = self
            .client
            .request(call.method.clone(), call.url)
            .bearer_auth(token.expose())
            .header(
                "Prefer",
                if is_delta(call.url) {
                    PREFER_DELTA
                } else {
                    PREFER_IMMUTABLE_ID
                },
            );
        if let Some(etag) = call.if_match {
            request = request.header(IF_MATCH, etag.as_str());
        }
        if let Some(body) = call.body {
            request = request.header(CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        let body = response.bytes().await?.to_vec();
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let error: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Err(status_error(status, &error, retry_after))
    }

    /// The clock `Retry-After` dates are read against.
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

/// The error of a reply with `status` and Graph's error `body`
/// (https://learn.microsoft.com/en-us/graph/errors#json-representation), alone or inside a `$batch`.
pub(crate) fn status_error(status: u16, body: &Value, retry_after: Option<Duration>) -> GraphError {
    let text = |k: &str| body["error"][k].as_str().unwrap_or_default().to_string();
    GraphError::Status {
        status,
        code: text("code"),
        message: text("message"),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER), "capped");
    }

    #[test]
    fn r_graph_3_delta_requests_ask_for_large_pages() {
        for url in [
            "https://graph.microsoft.com/v1.0/users/a/contactFolders/F/contacts/delta",
            "https://graph.microsoft.com/v1.0/users/a/calendars/C/calendarView/delta?startDateTime=x&endDateTime=y",
            "https://graph.microsoft.com/v1.0/users/a/contactFolders/F/contacts/delta?$skiptoken=abc",
            "https://graph.microsoft.com/v1.0/users/a/contactFolders/F/contacts/delta?$deltatoken=abc",
        ] {
            assert!(is_delta(url), "{url}");
        }
        for url in [
            "https://graph.microsoft.com/v1.0/users/a/contactFolders/F/contacts/AAMk",
            "https://graph.microsoft.com/v1.0/users/a/contactFolders",
        ] {
            assert!(!is_delta(url), "{url}");
        }
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(10), Duration::from_secs(60));
    }
}
