//! Test-only helpers for crmsync's proof harness (issue 6).
//!
//! - [`FaultProxy`]: a TCP proxy in front of a real HTTP server that injects
//!   connection resets, stalls, canned 500/503/429 replies and trickled
//!   response bodies at seeded rates, counts what it injected, and can hold
//!   one chosen request until a test releases it.
//! - [`Peer`]: a real Radicale or Xandikos on a free port of 127.0.0.1 with
//!   throw-away storage, killed when dropped, restartable (kill tests).
//! - [`TestDatabase`]: a throw-away SQLite file or PostgreSQL database per
//!   test, dropped when the test ends.
//! - [`CannedServer`]: one canned reply to every request, recording what
//!   each carried (redirects, refusals, where credentials went).
//! - [`Dovecot`]: a private Dovecot IMAP server the same way, and
//!   [`MailClient`], a user's mail client (Python `imaplib`) that places,
//!   moves, tags and expunges messages in it.
//!
//! - [`send_statements_to`]: every SQL statement sqlx executes, for tests
//!   that count what a call costs the database.
//!
//! - [`Browser`] (feature `browser`): a real headless Chromium over
//!   WebDriver, for the dashboard's end-to-end tests.
//!
//! Nothing here is for production: the crate is `publish = false`, a
//! dev-dependency everywhere but in `crmsync-bench` (a measuring tool).
//! Without features it depends on none of crmsync's crates, so any crate's
//! tests can use it; feature `dav` adds the DAV connector's config for a
//! [`Peer`], feature `graph` the Graph connector's for the [`GraphServer`].

#[cfg(feature = "browser")]
mod browser;
mod canned;
mod counters;
mod database;
#[cfg(feature = "dav")]
mod dav;
mod dovecot;
mod fault;
mod graph;
mod hold;
mod http1;
mod mail_client;
mod peer;
mod proxy;
mod raw;
mod relay;
mod sql_log;

#[cfg(feature = "browser")]
pub use browser::Browser;
pub use canned::{CannedServer, SeenRequest};
pub use counters::{FaultCounters, RecordedRequest};
pub use database::{
    Backend, DEFAULT_POSTGRES_URL, DatabaseError, POSTGRES_URL_VAR, TestDatabase, postgres_admin_url, postgres_url_for,
};
pub use dovecot::Dovecot;
pub use fault::{Fault, FaultPlan, FaultRates};
pub use graph::{
    Delivery as GraphDelivery, DeviceUser, GraphCounts, GraphServer, GraphSwitches, NotificationReceiver,
    Resource as GraphResource,
};
pub use hold::Hold;
pub use mail_client::MailClient;
pub use peer::{PASSWORD, Peer, PeerError, PeerKind, USER, find_tool, free_port, tool};
pub use proxy::{FaultProxy, ProxyError};
pub use raw::{Raw, RawReply};
pub use sql_log::{StatementSink, send_statements_to};
