//! One server's HTTP client: authentication, bounded concurrency, time-outs
//! and bounded retries. It returns every HTTP status to the caller, which
//! knows what a 404 or 412 means for its request; [`status_error`] maps the
//! rest to the shared error type.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crmsync_connector::{ConnectorError, Credentials, Reach};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use tokio::sync::Semaphore;

use crate::retry::{backoff, not_performed, parse_retry_after, retryable_status};
use crate::write_window::WriteWindow;
use crate::{DavConfig, DavError, RetryConfig};

/// Whether repeating a request after an unclear failure is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// PROPFIND, REPORT, GET: repeat freely.
    Read,
    /// PUT, DELETE, MKCOL: repeated only when the server surely did not act
    /// (connection refused, 429, 503). Otherwise the caller gets a transient
    /// error and recovers by listing again (R-CONN-5).
    Write,
}

pub struct Request {
    pub method: Method,
    pub url: Url,
    pub depth: Option<&'static str>,
    pub headers: Vec<(&'static str, String)>,
    /// Body and its media type.
    pub body: Option<(Vec<u8>, &'static str)>,
    pub effect: Effect,
}

impl Request {
    pub fn new(method: &str, url: Url, effect: Effect) -> Self {
        Self {
            // Every method name used here is a valid token.
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            url,
            depth: None,
            headers: Vec::new(),
            body: None,
            effect,
        }
    }

    pub fn depth(mut self, depth: &'static str) -> Self {
        self.depth = Some(depth);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// An XML body. Always labelled `application/xml`: Xandikos answers 415
    /// without it, and no server minds it.
    pub fn xml(mut self, body: String) -> Self {
        self.body = Some((body.into_bytes(), "application/xml; charset=utf-8"));
        self
    }

    pub fn body(mut self, body: &[u8], content_type: &'static str) -> Self {
        self.body = Some((body.to_vec(), content_type));
        self
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok())
    }

    pub fn etag(&self) -> Option<String> {
        self.header("etag")
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
    }
}

pub struct Http {
    client: reqwest::Client,
    /// Sent only to `origin`, never to another host a redirect or an href
    /// points at (R-SEC-2).
    credentials: Credentials,
    origin: reqwest::Url,
    reach: Reach,
    permits: Semaphore,
    retry: RetryConfig,
    timeout: Duration,
}

impl Http {
    /// A client for the server at `base` that connects only where `reach`
    /// allows (R-SEC-1).
    pub fn new(config: &DavConfig, credentials: Credentials, base: &Url, reach: Reach) -> Result<Self, DavError> {
        let timeout = Duration::from_secs(config.timeout_secs);
        let mut builder = reqwest::Client::builder();
        if reach != Reach::Any {
            // Every address a name resolves to is checked when connecting, so
            // a name that resolves to a public address when checked and to
            // an internal one a moment later gets nowhere; a proxy would
            // resolve names where this filter cannot see.
            builder = builder
                .dns_resolver(Arc::new(ReachResolver { reach: reach.clone() }))
                .no_proxy();
        }
        let client = builder
            // Redirects are followed by discovery itself: reqwest turns a
            // redirected PROPFIND into a GET, which the well-known dance breaks.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("crmsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(DavError::HttpClient)?;
        Ok(Self {
            client,
            credentials,
            origin: base.clone(),
            reach,
            permits: Semaphore::new(config.concurrency),
            retry: config.retry.clone(),
            timeout,
        })
    }

    /// Sends `request`, retrying what can pass. Any HTTP status is `Ok`; a
    /// retryable status that outlived the retries comes back as the last reply.
    pub async fn send(&self, request: &Request) -> Result<Reply, ConnectorError> {
        self.send_in(request, None).await
    }

    /// As [`Http::send`], for a write to a collection: each attempt first
    /// takes a place in the collection's `window` and tells it whether the
    /// server answered 423 (R-SCALE-7).
    pub async fn send_write(&self, request: &Request, window: &WriteWindow) -> Result<Reply, ConnectorError> {
        self.send_in(request, Some(window)).await
    }

    async fn send_in(&self, request: &Request, window: Option<&WriteWindow>) -> Result<Reply, ConnectorError> {
        self.check_target(&request.url).await?;
        let mut retries = 0;
        loop {
            let outcome = {
                // Places and permits are held only while on the wire, not
                // while backing off.
                let slot = match window {
                    Some(window) => Some(window.enter().await),
                    None => None,
                };
                let _permit = self.permits.acquire().await.map_err(|_| ConnectorError::Unreachable {
                    detail: "connector is shutting down".into(),
                })?;
                let outcome = self.send_once(request).await;
                if let (Some(slot), Ok(reply)) = (slot, &outcome) {
                    slot.finish(reply.status == 423);
                }
                outcome
            };
            let wait = match &outcome {
                Ok(reply) if retryable_status(reply.status) && retries < self.retry.max_retries => {
                    let server_refused = not_performed(reply.status);
                    if request.effect == Effect::Write && !server_refused {
                        None
                    } else {
                        match reply.retry_after() {
                            // Longer than we wait in place: let the runner reschedule.
                            Some(after) if after > self.retry.max_retry_after() => None,
                            Some(after) => Some(after),
                            None => Some(backoff(&self.retry, retries)),
                        }
                    }
                }
                Err(e) if retries < self.retry.max_retries => {
                    let not_sent = e.is_connect();
                    (not_sent || request.effect == Effect::Read).then(|| backoff(&self.retry, retries))
                }
                _ => None,
            };
            match wait {
                Some(wait) => {
                    tracing::debug!(url = %request.url, retries, ?wait, "retrying DAV request");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                None => return outcome.map_err(|e| self.transport_error(request, &e)),
            }
        }
    }

    /// R-SEC-2: never from https to plain http; R-SEC-1: only to addresses
    /// the profile may reach. Checked before every request, so also for
    /// each hop of a redirect and for hrefs a server hands out.
    async fn check_target(&self, url: &Url) -> Result<(), ConnectorError> {
        if self.origin.scheme() == "https" && url.scheme() != "https" {
            return Err(ConnectorError::NotAllowed {
                detail: format!(
                    "{url}: the server at {} sent crmsync from https to an unencrypted address (R-SEC-2)",
                    self.origin.origin().ascii_serialization()
                ),
            });
        }
        if self.reach == Reach::Any {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let Some(host) = url.host_str() else {
            return Err(ConnectorError::NotAllowed {
                detail: format!("{url} names no host"),
            });
        };
        // IPv6 literals come in brackets; literals need no resolving.
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return self.check_ip(host, ip);
        }
        match host {
            name if self.reach.trusts_name(name) => Ok(()),
            name => {
                let addrs = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|e| ConnectorError::Unreachable {
                        detail: format!("{name}: cannot resolve the name ({e})"),
                    })?;
                for addr in addrs {
                    self.check_ip(name, addr.ip())?;
                }
                Ok(())
            }
        }
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), ConnectorError> {
        if self.reach.allows(ip) {
            Ok(())
        } else {
            Err(Reach::refusal(host, ip))
        }
    }

    /// Whether `url` is on the origin the credentials are for.
    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.origin.origin()
    }

    async fn send_once(&self, request: &Request) -> Result<Reply, reqwest::Error> {
        let mut builder = self.client.request(request.method.clone(), request.url.clone());
        builder = match &self.credentials {
            _ if !self.same_origin(&request.url) => {
                tracing::debug!(url = %request.url, "request to another origin: sent without credentials (R-SEC-2)");
                builder
            }
            Credentials::None => builder,
            Credentials::Basic { username, password } => builder.basic_auth(username, Some(password.expose())),
            Credentials::Bearer { token } => builder.bearer_auth(token.expose()),
        };
        if let Some(depth) = request.depth {
            builder = builder.header("Depth", depth);
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some((body, content_type)) = &request.body {
            builder = builder.header("Content-Type", *content_type).body(body.clone());
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(Reply { status, headers, body })
    }

    fn transport_error(&self, request: &Request, e: &reqwest::Error) -> ConnectorError {
        let what = format!("{} {}", request.method, request.url);
        if e.is_connect() {
            ConnectorError::Unreachable {
                detail: format!("{what}: cannot connect ({})", root_cause(e)),
            }
        } else if e.is_timeout() {
            ConnectorError::Timeout {
                detail: format!("{what}: no reply within {}s", self.timeout.as_secs()),
            }
        } else if request.effect == Effect::Write {
            // The server may have applied the write before the connection died.
            ConnectorError::Timeout {
                detail: format!("{what}: connection lost before the reply; the write may have been applied"),
            }
        } else {
            ConnectorError::Unreachable {
                detail: format!("{what}: {}", root_cause(e)),
            }
        }
    }
}

/// How much of a refusing reply's body the log keeps.
const LOGGED_BODY_BYTES: usize = 200;

/// `HTTP 403 Forbidden`: what an error says about a reply instead of its body.
fn reason_phrase(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP {status} {reason}").trim_end().to_owned()
}

/// A DNS resolver that hands reqwest only the addresses the profile may
/// reach (R-SEC-1), so a redirect or a re-resolved name cannot lead inside.
struct ReachResolver {
    reach: Reach,
}

impl Resolve for ReachResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let trusted = reach.trusts_name(&host);
            let mut blocked = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| {
                    let ok = trusted || reach.allows(a.ip());
                    if !ok {
                        blocked = Some(a.ip());
                    }
                    ok
                })
                .collect();
            match (allowed.is_empty(), blocked) {
                (true, Some(ip)) => {
                    Err(Box::new(Reach::refusal(&host, ip)) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Maps a status the caller has no special meaning for.
///
/// The reply's body goes to the log (truncated), never into the error: the
/// error reaches API callers, and a body quoted there would let a user read
/// what a server that user may not see answered (R-SEC-3).
pub fn status_error(reply: &Reply, what: &str) -> ConnectorError {
    if reply.status >= 400 && !reply.body.is_empty() {
        let snippet = String::from_utf8_lossy(&reply.body[..reply.body.len().min(LOGGED_BODY_BYTES)]);
        tracing::warn!(status = reply.status, request = what, body = %snippet.trim(), "DAV server refused a request");
    }
    let snippet = reason_phrase(reply.status);
    match reply.status {
        401 => ConnectorError::Unauthorized {
            detail: format!("{what}: the server refused the credentials (HTTP 401); check username/password"),
        },
        403 => ConnectorError::Forbidden {
            detail: format!("{what}: {snippet}"),
        },
        404 | 410 => ConnectorError::NotFound { what: what.to_owned() },
        405 | 501 => ConnectorError::Unsupported {
            what: format!("{what} (the server answered HTTP {})", reply.status),
        },
        429 => ConnectorError::RateLimited {
            retry_after: reply.retry_after(),
        },
        // R-DAV-16: still locked after the retries; nothing was changed.
        423 => ConnectorError::Server {
            status: 423,
            message: format!(
                "{what}: the item is locked on the server (HTTP 423: another client is writing to it); nothing was \
                 changed, crmsync tries again at the next run"
            ),
        },
        300..=399 => ConnectorError::InvalidResponse {
            detail: format!(
                "{what}: unexpected redirect {} to {}",
                reply.status,
                reply.header("location").unwrap_or("?")
            ),
        },
        // The reason a failing profile shows: say what to do, not only what
        // happened (R-DAV-14).
        status @ 500..=599 => ConnectorError::Server {
            status,
            message: format!(
                "{what}: {snippet} (the server failed, also on retry where retrying is safe; check that it is \
                 running and read its log; crmsync tries again at the next run)"
            ),
        },
        status => ConnectorError::Server {
            status,
            message: format!("{what}: {snippet}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(base: &str, reach: Reach) -> Http {
        let base = Url::parse(base).unwrap();
        Http::new(&DavConfig::new(base.as_str()), Credentials::None, &base, reach).unwrap()
    }

    #[tokio::test]
    async fn r_sec_2_a_redirect_from_https_to_http_is_refused_before_sending() {
        let secure = http("https://dav.example.org/", Reach::Any);
        let downgrade = Url::parse("http://dav.example.org/dav/").unwrap();
        match secure.check_target(&downgrade).await {
            Err(ConnectorError::NotAllowed { detail }) => assert!(detail.contains("R-SEC-2"), "{detail}"),
            other => panic!("expected NotAllowed, got {other:?}"),
        }
        assert!(
            secure
                .check_target(&Url::parse("https://other.example.org/").unwrap())
                .await
                .is_ok(),
            "https elsewhere is no downgrade (credentials stay home anyway)"
        );
        let plain = http("http://dav.example.org/", Reach::Any);
        assert!(plain.check_target(&downgrade).await.is_ok());
    }

    #[test]
    fn r_sec_2_credentials_belong_to_the_configured_origin_only() {
        let h = http("https://dav.example.org/dav/", Reach::Any);
        assert!(h.same_origin(&Url::parse("https://dav.example.org/other/path").unwrap()));
        assert!(h.same_origin(&Url::parse("https://dav.example.org:443/").unwrap()));
        for other in [
            "https://evil.example.org/",
            "http://dav.example.org/",
            "https://dav.example.org:8443/",
        ] {
            assert!(!h.same_origin(&Url::parse(other).unwrap()), "{other}");
        }
    }

    #[test]
    fn r_sec_3_status_errors_name_the_status_not_the_body() {
        let reply = Reply {
            status: 400,
            headers: HeaderMap::new(),
            body: b"secret internals".to_vec(),
        };
        let e = status_error(&reply, "PUT /x.ics");
        assert!(e.to_string().contains("HTTP 400 Bad Request"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.is_item_refusal());
    }
}
