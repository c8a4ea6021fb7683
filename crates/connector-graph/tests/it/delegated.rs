//! Delegated (device-code) sign-in against the test server's identity
//! endpoints: R-GRAPH-30..33. Time is the manual clock's, so the polling
//! interval is counted, never waited.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use crmsync_connector::{
    CollectionKind, Connector, ConnectorError, MemoryVault, Reach, Secret, TokenVault, VaultError, VaultToken,
};
use crmsync_graph::{GraphConnector, GraphError, ManualClock, sign_in};
use crmsync_testkit::{DeviceUser, GraphServer};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
    ))
}

/// Signs in as the CLI does; returns the refresh token and what was shown.
async fn signed_in(server: &GraphServer, clock: Arc<ManualClock>) -> (Result<Secret, GraphError>, Vec<String>) {
    let mut shown = Vec::new();
    let result = sign_in(&server.device_code_config(), clock, Reach::Any, &mut |text: &str| {
        shown.push(text.to_string())
    })
    .await;
    (result, shown)
}

// R-GRAPH-31: pending until the user signs in, polled at the interval the
// server gave; the refresh token is the result and the message is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_31_sign_in_polls_until_the_user_approves() {
    let server = GraphServer::start().await.unwrap();
    server.device_user(DeviceUser::ApprovesAfter(2));
    let clock = clock();
    let (token, shown) = signed_in(&server, clock.clone()).await;
    let token = token.expect("signed in");
    assert_eq!(server.valid_refresh_tokens(), vec![token.expose().to_string()]);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("https://microsoft.com/devicelogin") && shown[0].contains("FJ0000001"),
        "{shown:?}"
    );
    assert_eq!(server.stats().device_polls, 3, "two pending answers, then the tokens");
    assert_eq!(clock.slept(), vec![Duration::from_secs(5); 2], "the server's interval");
}

// R-GRAPH-31: `slow_down` makes every later wait 5 s longer (RFC 8628 §3.5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_31_slow_down_lengthens_the_interval() {
    let server = GraphServer::start().await.unwrap();
    server.device_user(DeviceUser::ApprovesAfter(3));
    server.slow_down_next(2);
    let clock = clock();
    let (token, _) = signed_in(&server, clock.clone()).await;
    token.expect("signed in");
    let secs: Vec<u64> = clock.slept().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![10, 15, 15], "5 s more after each slow_down, kept after it");
}

// R-GRAPH-31: a declined or expired sign-in is a clear error and yields no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_31_declined_and_expired_sign_ins_are_clear_errors() {
    let server = GraphServer::start().await.unwrap();
    for (user, says) in [
        (DeviceUser::DeclinesAfter(1), "declined"),
        (DeviceUser::LeavesAfter(1), "expired"),
    ] {
        server.device_user(user);
        let (result, _) = signed_in(&server, clock()).await;
        match result {
            Err(GraphError::SignIn(message)) => assert!(message.contains(says), "{message}"),
            other => panic!("expected a sign-in error, got {other:?}"),
        }
    }
    assert!(server.issued_refresh_tokens().is_empty(), "no token was issued");
}

// R-GRAPH-30: sign-in is for device-code profiles only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_30_an_app_only_profile_needs_no_sign_in() {
    let server = GraphServer::start().await.unwrap();
    let err = sign_in(&server.config(), clock(), Reach::Any, &mut |_: &str| {})
        .await
        .expect_err("app-only");
    assert!(matches!(err, GraphError::InvalidSetting { key: "auth", .. }), "{err:?}");
}

// R-GRAPH-32: a delegated connector gets its access tokens from the stored
// refresh token; each refresh's new refresh token replaces the stored one,
// also after the access token's life ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_32_a_sync_refreshes_and_keeps_the_rotated_token() {
    let server = GraphServer::start().await.unwrap();
    let clock = clock();
    let (first, _) = signed_in(&server, clock.clone()).await;
    let first = first.expect("signed in");
    let vault = Arc::new(MemoryVault::new("anna", Some(first.clone())));
    let graph = GraphConnector::delegated(server.device_code_config(), clock.clone(), vault.clone()).unwrap();
    graph
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .expect("works signed in as the user");
    let second = vault.current().expect("stored");
    assert_eq!(second.version, 2, "the rotated token was stored");
    assert_ne!(second.token, first);
    assert_eq!(server.valid_refresh_tokens(), vec![second.token.expose().to_string()]);

    clock.advance(Duration::from_secs(3600));
    graph.discover().await.expect("refreshed again");
    let third = vault.current().expect("stored");
    assert_eq!(third.version, 3);
    assert_eq!(server.valid_refresh_tokens(), vec![third.token.expose().to_string()]);

    let shown = format!("{graph:?} {vault:?} {third:?}");
    for token in server.issued_refresh_tokens() {
        assert!(!shown.contains(&token), "{shown}");
    }
}

/// A vault as another worker sees it: its first load is the token that
/// worker read before this one stored a newer one.
struct ReadBeforeAnother {
    inner: Arc<MemoryVault>,
    stale: Mutex<Option<VaultToken>>,
}

#[async_trait]
impl TokenVault for ReadBeforeAnother {
    fn profile(&self) -> &str {
        self.inner.profile()
    }
    async fn load(&self) -> Result<Option<VaultToken>, VaultError> {
        let stale = self.stale.lock().unwrap().take();
        match stale {
            Some(stale) => Ok(Some(stale)),
            None => self.inner.load().await,
        }
    }
    async fn replace(&self, version: i64, token: &Secret) -> Result<bool, VaultError> {
        self.inner.replace(version, token).await
    }
}

// R-GRAPH-32: two workers refreshing from the same token: the one whose
// token was used by the other is refused, finds the newer stored token and
// goes on with it; the stored token is never an older one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_32_a_worker_refused_for_a_used_token_takes_the_newer_one() {
    let server = GraphServer::start().await.unwrap();
    let clock = clock();
    let (first, _) = signed_in(&server, clock.clone()).await;
    let vault = Arc::new(MemoryVault::new("anna", Some(first.expect("signed in"))));
    let before = vault.current().unwrap();
    let a = GraphConnector::delegated(server.device_code_config(), clock.clone(), vault.clone()).unwrap();
    a.discover().await.expect("worker A");
    let b_vault = Arc::new(ReadBeforeAnother {
        inner: vault.clone(),
        stale: Mutex::new(Some(before)),
    });
    let b = GraphConnector::delegated(server.device_code_config(), clock.clone(), b_vault).unwrap();
    b.discover().await.expect("worker B goes on with A's token");
    let now = vault.current().unwrap();
    assert_eq!(now.version, 3, "A's and then B's rotation, in order");
    assert_eq!(server.valid_refresh_tokens(), vec![now.token.expose().to_string()]);
}

// R-GRAPH-32: a revoked refresh token is a permanent error that says to
// sign in again; no stored token, or no vault at all, says "not signed in".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_32_a_revoked_or_missing_sign_in_says_what_to_run() {
    let server = GraphServer::start().await.unwrap();
    let clock = clock();
    let (first, _) = signed_in(&server, clock.clone()).await;
    let first = first.expect("signed in");
    server.revoke_refresh_tokens();
    let vault = Arc::new(MemoryVault::new("anna", Some(first)));
    let graph = GraphConnector::delegated(server.device_code_config(), clock.clone(), vault.clone()).unwrap();
    let err = graph.discover().await.expect_err("revoked");
    assert!(matches!(err, ConnectorError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert!(
        err.to_string().contains("sign in again: crmsync graph sign-in anna"),
        "{err}"
    );
    assert_eq!(vault.current().unwrap().version, 1, "nothing stored");

    let empty = Arc::new(MemoryVault::new("anna", None));
    let graph = GraphConnector::delegated(server.device_code_config(), clock.clone(), empty).unwrap();
    let err = graph.discover().await.expect_err("not signed in");
    assert!(
        err.to_string().contains("not signed in") && err.to_string().contains("crmsync graph sign-in anna"),
        "{err}"
    );

    let err = GraphConnector::with_clock(server.device_code_config(), clock).expect_err("no vault");
    assert!(err.to_string().contains("not signed in"), "{err}");
}

/// A vault whose every load and store fails as `0` says.
struct FailingVault(VaultError);

#[async_trait]
impl TokenVault for FailingVault {
    fn profile(&self) -> &str {
        "anna"
    }
    async fn load(&self) -> Result<Option<VaultToken>, VaultError> {
        Err(self.0.clone())
    }
    async fn replace(&self, _version: i64, _token: &Secret) -> Result<bool, VaultError> {
        Err(self.0.clone())
    }
}

// R-GRAPH-33: a stored sign-in that cannot be opened (another key, another
// owner) fails the run as a permanent sign-in error that says what to do,
// never as a transient one; a vault that cannot be read (the database
// down) stays transient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_33_an_unusable_sign_in_is_a_permanent_sign_in_error() {
    let server = GraphServer::start().await.unwrap();
    let unusable = FailingVault(VaultError::Unusable(
        "the stored sign-in does not open with [security] key".into(),
    ));
    let connector = GraphConnector::delegated(server.device_code_config(), clock(), Arc::new(unusable)).unwrap();
    let err = connector.discover().await.expect_err("no usable sign-in");
    assert!(matches!(err, ConnectorError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("crmsync graph sign-in anna"), "{err}");

    let down = FailingVault(VaultError::Unavailable("database is locked".into()));
    let connector = GraphConnector::delegated(server.device_code_config(), clock(), Arc::new(down)).unwrap();
    let err = connector.discover().await.expect_err("vault unreadable");
    assert!(err.is_transient(), "{err:?}");
}
