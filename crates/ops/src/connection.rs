//! The connection test of a profile (R-WEB-10): reaches the groupware step
//! by step (name, TCP, TLS, sign-in, collections) and says which step
//! failed and what to do, then lists the mailbox's collections to choose
//! from (R-COL-3). Writes nothing, creates nothing.
//!
//! The network steps go only where the profile's connector may go (its
//! [`Reach`], R-SEC-1): a non-admin user cannot use the test to probe
//! internal addresses either.

use std::net::SocketAddr;
use std::time::Duration;

use crmsync_connector::{ConnectorError, Reach};
use crmsync_store::{Store, StoreError};
use crmsync_sync::ops::{CollectionListing, list_collections};
use crmsync_sync::{SyncError, SyncProfile};

/// How long one network step may take before it counts as failed: a
/// server that does not answer within this is as good as unreachable.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// One step of the test, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStep {
    /// The host name resolves to addresses the profile may reach.
    Dns,
    /// Something accepts TCP connections there.
    Tcp,
    /// The TLS handshake (https only).
    Tls,
    /// The server accepts the credentials and shows the account.
    SignIn,
    /// The collections the profile names exist.
    Collections,
}

impl CheckStep {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStep::Dns => "DNS",
            CheckStep::Tcp => "TCP",
            CheckStep::Tls => "TLS",
            CheckStep::SignIn => "sign-in",
            CheckStep::Collections => "collections",
        }
    }
}

/// How one step went, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Passed(String),
    Failed(String),
    /// Not tried: an earlier step failed, or it does not apply.
    NotRun(String),
}

/// The steps with their outcomes and, when discovery worked, what the
/// mailbox holds.
#[derive(Debug, Clone)]
pub struct ConnectionCheck {
    pub steps: Vec<(CheckStep, StepOutcome)>,
    pub listing: Option<CollectionListing>,
}

impl ConnectionCheck {
    /// The first step that failed, with its message; `None`: all passed.
    pub fn failure(&self) -> Option<(CheckStep, &str)> {
        self.steps.iter().find_map(|(step, outcome)| match outcome {
            StepOutcome::Failed(why) => Some((*step, why.as_str())),
            _ => None,
        })
    }

    fn push(&mut self, step: CheckStep, outcome: StepOutcome) {
        self.steps.push((step, outcome));
    }

    /// Marks `steps` as not run because `cause` failed.
    fn skip(&mut self, steps: &[CheckStep], cause: CheckStep) {
        for &step in steps {
            self.push(
                step,
                StepOutcome::NotRun(format!("not tried: {} failed", cause.as_str())),
            );
        }
    }
}

/// Where a URL-based connector connects: host, port, and whether TLS is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Endpoint {
    /// The endpoint of an `http`/`https` URL; the error says what is wrong with it.
    pub fn from_url(url: &str) -> Result<Endpoint, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
        let tls = match parsed.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("`{other}:` URLs are not supported: use https:// (or http://)")),
        };
        let host = parsed.host_str().ok_or_else(|| format!("`{url}` names no host"))?;
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| format!("`{url}` names no port"))?;
        Ok(Endpoint {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

/// Tests `profile`'s connection. `endpoint` is where its connector connects
/// (`None` for a connector without one, e.g. a vdir: only discovery runs)
/// with the reach the connector has. An error is the CRM database's only;
/// every groupware failure is a failed step.
pub async fn check_connection(
    store: &Store,
    profile: &SyncProfile,
    endpoint: Option<(&Endpoint, &Reach)>,
) -> Result<ConnectionCheck, StoreError> {
    let mut check = ConnectionCheck {
        steps: Vec::new(),
        listing: None,
    };
    let tls = match endpoint {
        Some((endpoint, reach)) => {
            if !reach_socket(&mut check, endpoint, reach).await {
                return Ok(check);
            }
            endpoint.tls
        }
        None => false,
    };
    match list_collections(store, profile).await {
        Ok(listing) => {
            if tls {
                check.push(CheckStep::Tls, StepOutcome::Passed("the handshake succeeded".into()));
            }
            check.push(
                CheckStep::SignIn,
                StepOutcome::Passed("the server accepted the credentials".into()),
            );
            check.push(CheckStep::Collections, collections_outcome(&listing));
            check.listing = Some(listing);
        }
        Err(SyncError::Store(e)) => return Err(e),
        Err(SyncError::Connector(e)) => discovery_failed(&mut check, tls, &e),
        Err(e) => {
            check.push(
                CheckStep::SignIn,
                StepOutcome::Failed(format!("{e}; {}", crate::what_to_do(&e))),
            );
            check.skip(&[CheckStep::Collections], CheckStep::SignIn);
        }
    }
    Ok(check)
}

/// The DNS and TCP steps; `false` when one failed (the rest is then skipped).
async fn reach_socket(check: &mut ConnectionCheck, endpoint: &Endpoint, reach: &Reach) -> bool {
    let later = [CheckStep::Tls, CheckStep::SignIn, CheckStep::Collections];
    let host = &endpoint.host;
    let resolved = tokio::time::timeout(STEP_TIMEOUT, reach.resolve(host, endpoint.port)).await;
    let addrs = match resolved {
        Ok(Ok(addrs)) => Ok(addrs),
        // R-SEC-1's refusal already says what to do.
        Ok(Err(ConnectorError::NotAllowed { detail })) => Err(detail),
        Ok(Err(e)) => Err(format!(
            "{e}: check the host name in the URL (a typo, or a name only your own network knows)"
        )),
        Err(_) => Err(format!(
            "{host}: no answer from the name server within {} s; try again, and check the host name",
            STEP_TIMEOUT.as_secs()
        )),
    };
    let addrs = match addrs {
        Ok(addrs) => addrs,
        Err(why) => {
            check.push(CheckStep::Dns, StepOutcome::Failed(why));
            check.skip(&[CheckStep::Tcp], CheckStep::Dns);
            check.skip(&later[..], CheckStep::Dns);
            return false;
        }
    };
    check.push(
        CheckStep::Dns,
        StepOutcome::Passed(format!("{host} is at {}", list(&addrs))),
    );
    let mut refused = Vec::new();
    for addr in &addrs {
        match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                check.push(
                    CheckStep::Tcp,
                    StepOutcome::Passed(format!("{addr} accepts connections")),
                );
                if !endpoint.tls {
                    check.push(
                        CheckStep::Tls,
                        StepOutcome::NotRun("not used: the URL is http://".into()),
                    );
                }
                return true;
            }
            Ok(Err(e)) => refused.push(format!("{addr}: {e}")),
            Err(_) => refused.push(format!("{addr}: no answer within {} s", STEP_TIMEOUT.as_secs())),
        }
    }
    check.push(
        CheckStep::Tcp,
        StepOutcome::Failed(format!(
            "nothing accepts connections on port {} ({}): check the port in the URL and that the server runs; \
             a firewall may be in the way. Retrying helps once the server is up",
            endpoint.port,
            refused.join("; ")
        )),
    );
    check.skip(&later[..], CheckStep::Tcp);
    false
}

fn list(addrs: &[SocketAddr]) -> String {
    addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
}

/// Where discovery failed: a transport failure after TCP worked is the TLS
/// handshake on https; a refusal is the sign-in; the rest names itself.
fn discovery_failed(check: &mut ConnectionCheck, tls: bool, e: &ConnectorError) {
    let transport = matches!(
        e,
        ConnectorError::Unreachable { .. } | ConnectorError::Io { .. } | ConnectorError::Timeout { .. }
    );
    if tls && transport {
        check.push(
            CheckStep::Tls,
            StepOutcome::Failed(format!(
                "{e}: the server does not complete a TLS handshake on this port; check that it speaks https there \
                 (or use http://) and that its certificate is valid for the host name"
            )),
        );
        check.skip(&[CheckStep::SignIn, CheckStep::Collections], CheckStep::Tls);
        return;
    }
    if tls {
        check.push(CheckStep::Tls, StepOutcome::Passed("the handshake succeeded".into()));
    }
    let why = match e {
        ConnectorError::Unauthorized { .. } | ConnectorError::Forbidden { .. } => {
            format!("{e}: the server refused the user name or password; correct them and test again")
        }
        ConnectorError::NotFound { .. } => {
            format!("{e}: the server has no account at this URL; check the URL's path")
        }
        other => format!("{other}; {}", other.hint()),
    };
    check.push(CheckStep::SignIn, StepOutcome::Failed(why));
    check.skip(&[CheckStep::Collections], CheckStep::SignIn);
}

/// Failed when a collection the profile names is not in the mailbox.
fn collections_outcome(listing: &CollectionListing) -> StepOutcome {
    let missing: Vec<String> = listing
        .classes
        .iter()
        .filter(|c| c.chosen.is_some() && c.href.is_none())
        .map(|c| format!("{}: {}", c.class, c.note))
        .collect();
    if missing.is_empty() {
        StepOutcome::Passed(format!("{} found", plural(listing.collections.len(), "collection")))
    } else {
        StepOutcome::Failed(format!(
            "the mailbox has no collection the profile names for {}; choose one of those listed",
            missing.join("; ")
        ))
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
