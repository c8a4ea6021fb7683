//! Behaviour real servers cannot be made to show on cue (429/503, a PUT reply
//! without ETag), against a scripted HTTP endpoint: each reply is scripted;
//! requests are counted and recorded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crmsync_connector::{CollectionId, Connector, ConnectorError, Etag, Href};
use crmsync_dav::{DavConfig, DavConnector, RetryConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SYNC_OK: &str = r#"<?xml version="1.0"?><multistatus xmlns="DAV:"><sync-token>t-1</sync-token></multistatus>"#;

/// A scripted reply: status, extra headers, body.
type Scripted = (u16, Vec<(&'static str, &'static str)>, &'static str);

/// Serves `script` in order (the last reply repeats); returns the base URL and
/// the request counter.
async fn scripted(script: Vec<Scripted>) -> (String, Arc<AtomicUsize>) {
    let (url, count, _) = recorded(script).await;
    (url, count)
}

/// Like [`scripted`], also recording each request (head and body) as text.
async fn recorded(script: Vec<Scripted>) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let log = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let (status, headers, body) = script[n.min(script.len() - 1)].clone();
            // Read the request head and body before answering.
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(read) = socket.read(&mut chunk).await {
                if read == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..read]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            requests
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).into_owned());
            let mut reply = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                reply.push_str(&format!("{name}: {value}\r\n"));
            }
            reply.push_str("\r\n");
            reply.push_str(body);
            let _ = socket.write_all(reply.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, count, log)
}

fn connector(url: &str, max_retries: u32) -> DavConnector {
    let config = DavConfig {
        retry: RetryConfig {
            max_retries,
            base_delay_ms: 1,
            max_delay_ms: 5,
            max_retry_after_secs: 5,
        },
        ..DavConfig::new(url).with_basic("crm", "pw")
    };
    DavConnector::new(&config).unwrap()
}

fn collection() -> CollectionId {
    CollectionId::new("/c/")
}

// R-CONN-4: 429 and 503 pass; the connector waits (honouring Retry-After) and retries.
#[tokio::test]
async fn r_conn_4_rate_limits_and_unavailability_are_retried_until_success() {
    let (url, count) = scripted(vec![
        (503, vec![], "busy"),
        (429, vec![("Retry-After", "0")], "slow down"),
        (207, vec![("Content-Type", "application/xml")], SYNC_OK),
    ])
    .await;
    let changes = connector(&url, 3)
        .changes(&collection(), None)
        .await
        .expect("third attempt succeeds");
    assert_eq!(changes.new_token.as_str(), "t-1");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

// R-CONN-4: retries are bounded; what is left is a transient server error.
#[tokio::test]
async fn r_conn_4_retries_are_bounded_and_end_transient() {
    let (url, count) = scripted(vec![(502, vec![], "bad gateway")]).await;
    let err = connector(&url, 2).changes(&collection(), None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Server { status: 502, .. }), "got {err:?}");
    assert!(err.is_transient());
    assert_eq!(count.load(Ordering::SeqCst), 3, "one attempt plus two retries");
}

// A Retry-After longer than we wait in place goes back to the runner as RateLimited.
#[tokio::test]
async fn long_retry_after_is_reported_not_slept() {
    let (url, count) = scripted(vec![(429, vec![("Retry-After", "3600")], "")]).await;
    let err = connector(&url, 3).changes(&collection(), None).await.unwrap_err();
    match err {
        ConnectorError::RateLimited { retry_after } => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(3600)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

// Permanent errors are not retried: 401 says "check username/password" at once.
#[tokio::test]
async fn unauthorized_is_not_retried() {
    let (url, count) = scripted(vec![(401, vec![("WWW-Authenticate", "Basic realm=\"x\"")], "")]).await;
    let err = connector(&url, 3).changes(&collection(), None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized { .. }), "got {err:?}");
    assert!(err.to_string().contains("check username/password"));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

// R-CONN-5: a write that hit a 500 may have been applied: it is not repeated
// blindly; the runner re-lists instead.
#[tokio::test]
async fn r_conn_5_writes_are_not_repeated_after_an_ambiguous_failure() {
    let (url, count) = scripted(vec![
        // Collection kind lookup (PROPFIND) first, then the PUT.
        (
            207,
            vec![("Content-Type", "application/xml")],
            r#"<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><response><href>/c/</href><propstat><prop><resourcetype><collection/><CR:addressbook/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#,
        ),
        (500, vec![], "oops"),
        (201, vec![("ETag", "\"late\"")], ""),
    ])
    .await;
    let dav = connector(&url, 3);
    let err = dav
        .update(
            &collection(),
            &Href::new("a.vcf"),
            &Etag::new("\"1\""),
            b"BEGIN:VCARD\r\nEND:VCARD\r\n",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Server { status: 500, .. }), "got {err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 2, "PROPFIND + one PUT, no repeat");
}

// R-DAV-16: 423 Locked says the write was not performed (Xandikos answers it
// when two writes race for its git index): the same conditional PUT is sent
// again and succeeds; still locked after the retries, the error is transient.
#[tokio::test]
async fn r_dav_16_a_locked_write_is_sent_again() {
    let (url, count) = scripted(vec![
        (207, vec![("Content-Type", "application/xml")], ADDRESSBOOK),
        (423, vec![], "locked"),
        (204, vec![("ETag", "\"2\"")], ""),
    ])
    .await;
    let etag = connector(&url, 3)
        .update(
            &collection(),
            &Href::new("a.vcf"),
            &Etag::new("\"1\""),
            b"BEGIN:VCARD\r\nEND:VCARD\r\n",
        )
        .await
        .unwrap();
    assert_eq!(etag, Etag::new("\"2\""));
    assert_eq!(count.load(Ordering::SeqCst), 3, "PROPFIND + locked PUT + PUT");

    let (url, _) = scripted(vec![
        (207, vec![("Content-Type", "application/xml")], ADDRESSBOOK),
        (423, vec![], "locked"),
        (423, vec![], "locked"),
    ])
    .await;
    let err = connector(&url, 1)
        .update(
            &collection(),
            &Href::new("a.vcf"),
            &Etag::new("\"1\""),
            b"BEGIN:VCARD\r\nEND:VCARD\r\n",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Server { status: 423, .. }), "got {err:?}");
    assert!(err.is_transient(), "a lock passes: {err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
}

// Nothing listening: Unreachable and transient, after the bounded retries.
#[tokio::test]
async fn nothing_listening_is_unreachable_and_transient() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = connector(&format!("http://127.0.0.1:{port}/"), 1)
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unreachable { .. }), "got {err:?}");
    assert!(err.is_transient());
}

const ADDRESSBOOK: &str = r#"<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><response><href>/c/</href><propstat><prop><resourcetype><collection/><CR:addressbook/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;

// R-SAFE-2: a server that leaves the ETag out of the PUT reply: the ETag comes
// from reading the item back; if the stored body is not ours (someone edited
// in between), the ETag is marked unconfirmed so it can never match.
#[tokio::test]
async fn r_safe_2_missing_put_etag_is_read_back_and_confirmed_by_content() {
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nN:X;;;;\r\nEND:VCARD\r\n";
    let (url, _, log) = recorded(vec![
        (207, vec![("Content-Type", "application/xml")], ADDRESSBOOK),
        (201, vec![], ""),
        (200, vec![("ETag", "\"ours\"")], card),
        (201, vec![], ""),
        (
            200,
            vec![("ETag", "\"theirs\"")],
            "BEGIN:VCARD\r\nFN:Someone else\r\nEND:VCARD\r\n",
        ),
    ])
    .await;
    let dav = connector(&url, 0);
    let meta = dav.create(&collection(), "x", card.as_bytes()).await.unwrap();
    assert_eq!(meta.etag.as_str(), "\"ours\"");
    let other = dav.create(&collection(), "y", card.as_bytes()).await.unwrap();
    assert_ne!(
        other.etag.as_str(),
        "\"theirs\"",
        "someone else's version must not pass for ours"
    );
    assert!(other.etag.as_str().contains("theirs"));

    let requests = log.lock().unwrap();
    let put = &requests[1];
    assert!(put.starts_with("PUT /c/x.vcf "), "{put}");
    assert!(put.to_ascii_lowercase().contains("if-none-match: *"), "{put}");
    assert!(put.to_ascii_lowercase().contains("content-type: text/vcard"), "{put}");
}

// Basic and Bearer auth from the credentials; XML bodies labelled application/xml.
#[tokio::test]
async fn requests_carry_auth_and_xml_content_type() {
    let (url, _, log) = recorded(vec![(207, vec![("Content-Type", "application/xml")], SYNC_OK)]).await;
    connector(&url, 0).changes(&collection(), None).await.unwrap();
    let mut config = DavConfig::new(url.clone());
    config.bearer_token = Some(crmsync_connector::SecretSource::Value(crmsync_connector::Secret::new(
        "tok-123",
    )));
    DavConnector::new(&config)
        .unwrap()
        .changes(&collection(), None)
        .await
        .unwrap();

    let requests: Vec<String> = log.lock().unwrap().iter().map(|r| r.to_ascii_lowercase()).collect();
    // "crm:pw" in base64.
    assert!(requests[0].contains("authorization: basic y3jtonb3"), "{}", requests[0]);
    assert!(requests[1].contains("authorization: bearer tok-123"), "{}", requests[1]);
    for r in &requests {
        assert!(r.starts_with("report /c/ "), "{r}");
        assert!(r.contains("content-type: application/xml"), "{r}");
        assert!(r.contains("depth: 0") && r.contains("sync-collection"), "{r}");
    }
}

const PRINCIPAL: &str = r#"<multistatus xmlns="DAV:"><response><href>/</href><propstat><prop><current-user-principal><href>/p/</href></current-user-principal></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
const HOMES: &str = r#"<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><response><href>/p/</href><propstat><prop><CR:addressbook-home-set><href>/p/ab/</href></CR:addressbook-home-set></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
const HOME_LISTING: &str = r#"<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><response><href>/p/ab/</href><propstat><prop><resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/p/ab/c/</href><propstat><prop><resourcetype><collection/><CR:addressbook/></resourcetype><displayname>c</displayname></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;

// R-DAV-13: a server that is down during discovery (503 after the retries)
// ends discovery as a transient error at once. It is not taken for "no
// principal here": falling through to the well-known URIs and finally to
// "the URL is the home" would cache wrong homes for the connector's life,
// and the next run would look for (or create) collections in the wrong place.
#[tokio::test]
async fn r_dav_13_outage_during_discovery_is_transient_and_not_cached() {
    let xml = vec![("Content-Type", "application/xml")];
    let (url, count) = scripted(vec![
        (503, vec![], "down for maintenance"),
        (207, xml.clone(), PRINCIPAL),
        (207, xml.clone(), HOMES),
        (207, xml, HOME_LISTING),
    ])
    .await;
    let dav = connector(&url, 0);
    let err = dav.discover().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Server { status: 503, .. }), "got {err:?}");
    assert!(err.is_transient());
    assert_eq!(count.load(Ordering::SeqCst), 1, "no guessing after an outage");
    assert!(
        err.to_string().contains("check that it is running"),
        "R-DAV-14: the message says what to do: {err}"
    );

    let found = dav.discover().await.expect("the server is back");
    let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["/p/ab/c/"], "the real homes, found once the server answers");
}
