//! Issue 12 items 2 and 3 against loopback servers: a restricted profile
//! reaches no internal address, neither directly, by name, nor through a
//! redirect (R-SEC-1); credentials never follow a redirect to another origin
//! (R-SEC-2); an error never quotes the server's reply body (R-SEC-3).

use std::net::{IpAddr, Ipv4Addr};

use crmsync_connector::{AllowList, Connector, ConnectorError, Reach};
use crmsync_dav::{DavConfig, DavConnector, RetryConfig};
use crmsync_testkit::CannedServer;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Another loopback address: another origin on the same machine.
const LOOPBACK_2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn config(url: &str) -> DavConfig {
    DavConfig {
        retry: RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        },
        ..DavConfig::new(url).with_basic("anna", "pw-Osprey-77")
    }
}

fn users_reach(allowed: &[&str]) -> Reach {
    Reach::Public(AllowList::parse(allowed).unwrap())
}

fn expect_not_allowed(result: Result<Vec<crmsync_connector::Collection>, ConnectorError>, what: &str) -> String {
    match result {
        Err(e @ ConnectorError::NotAllowed { .. }) => e.to_string(),
        other => panic!("{what}: expected NotAllowed, got {other:?}"),
    }
}

#[tokio::test]
async fn r_sec_1_a_users_profile_reaches_no_loopback_address_by_ip_or_name() {
    let inside = CannedServer::start(LOOPBACK, 207, &[], b"").await.unwrap();
    let port = inside.addr().port();
    for url in [format!("http://127.0.0.1:{port}/"), format!("http://localhost:{port}/")] {
        let dav = DavConnector::with_reach(&config(&url), users_reach(&[])).unwrap();
        let message = expect_not_allowed(dav.discover().await, &url);
        assert!(message.contains("R-SEC-1"), "{message}");
    }
    assert!(inside.requests().is_empty(), "nothing reached the internal server");

    // The administrator's allow-list opens it, by name or by address.
    for (url, allowed) in [
        (format!("http://localhost:{port}/"), "localhost"),
        (format!("http://127.0.0.1:{port}/"), "127.0.0.0/8"),
    ] {
        let dav = DavConnector::with_reach(&config(&url), users_reach(&[allowed])).unwrap();
        let _ = dav.discover().await;
    }
    assert!(inside.requests().len() >= 2, "allowed requests arrive");
}

#[tokio::test]
async fn r_sec_1_a_redirect_cannot_lead_a_users_profile_inside() {
    let inside = CannedServer::start(LOOPBACK, 207, &[], b"").await.unwrap();
    let target = inside.url();
    // The allowed server sends every request on to an internal address.
    let allowed = CannedServer::start(LOOPBACK_2, 301, &[("Location", target.as_str())], b"")
        .await
        .unwrap();
    let dav = DavConnector::with_reach(&config(&allowed.url()), users_reach(&["127.0.0.2"])).unwrap();
    expect_not_allowed(dav.discover().await, "redirect to 127.0.0.1");
    assert!(!allowed.requests().is_empty(), "the allowed server was asked");
    assert!(inside.requests().is_empty(), "the redirect target never was");
}

#[tokio::test]
async fn r_sec_2_credentials_do_not_follow_a_redirect_to_another_origin() {
    let elsewhere = CannedServer::start(LOOPBACK_2, 404, &[], b"").await.unwrap();
    let target = elsewhere.url();
    let origin = CannedServer::start(LOOPBACK, 301, &[("Location", target.as_str())], b"")
        .await
        .unwrap();
    // An admin's profile (reach anything) still keeps its password home.
    let dav = DavConnector::with_reach(&config(&origin.url()), Reach::Any).unwrap();
    let _ = dav.discover().await;
    let first = &origin.requests()[0];
    assert!(
        first.header("authorization").is_some_and(|a| a.starts_with("Basic ")),
        "the configured server gets the credentials: {first:?}"
    );
    let redirected = elsewhere.requests();
    assert!(!redirected.is_empty(), "the redirect was followed");
    for request in redirected {
        assert_eq!(request.header("authorization"), None, "credentials leaked: {request:?}");
    }
}

#[tokio::test]
async fn r_sec_3_an_error_never_quotes_the_servers_reply_body() {
    let secret = "internal-build-7f3a9 db=10.0.0.5 token=Zebra42";
    for status in [400, 403, 500, 418] {
        let server = CannedServer::start(LOOPBACK, status, &[("Content-Type", "text/plain")], secret.as_bytes())
            .await
            .unwrap();
        let dav = DavConnector::with_reach(&config(&server.url()), Reach::Any).unwrap();
        let err = dav.discover().await.expect_err("the server refuses everything");
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("Zebra42"),
            "HTTP {status}: the body was quoted: {shown}"
        );
    }
}
