//! The fault proxy itself, against a small HTTP server written here (the
//! upstream must count what reaches it, which no real server tells).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crmsync_testkit::{Fault, FaultPlan, FaultProxy, FaultRates};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// An upstream that answers every request with `METHOD TARGET BODY` and
/// counts the requests it received in full.
async fn echo_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                let mut start = String::new();
                reader.read_line(&mut start).await.unwrap();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                count.fetch_add(1, Ordering::SeqCst);
                let mut words = start.split(' ');
                let reply = format!(
                    "{} {} {}",
                    words.next().unwrap(),
                    words.next().unwrap(),
                    String::from_utf8_lossy(&body)
                )
                .repeat(20);
                let mut socket = reader.into_inner();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"e1\"\r\nConnection: keep-alive\r\n\r\n",
                    reply.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, seen)
}

async fn proxy(rates: FaultRates) -> (FaultProxy, Arc<AtomicUsize>) {
    let (upstream, seen) = echo_server().await;
    let mut plan = FaultPlan::new(rates, 42);
    plan.stall_for = Duration::from_secs(30);
    plan.trickle_bytes = 16;
    plan.trickle_pause = Duration::from_millis(1);
    (FaultProxy::start(upstream, plan).await.unwrap(), seen)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

async fn put(proxy: &FaultProxy, path: &str, body: &str) -> Result<reqwest::Response, reqwest::Error> {
    client()
        .put(format!("{}{}", proxy.url().trim_end_matches('/'), path))
        .body(body.to_owned())
        .send()
        .await
}

#[tokio::test]
async fn passes_requests_through_and_closes_each_connection() {
    let (proxy, seen) = proxy(FaultRates::none()).await;
    let client = client();
    for i in 0..3 {
        // One client, so the same pooled connection would be reused if the
        // proxy let keep-alive through.
        let reply = client
            .put(format!("{}c/{i}.vcf", proxy.url()))
            .body(format!("card {i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.headers()["connection"], "close", "keep-alive is rewritten");
        assert_eq!(reply.headers()["etag"], "\"e1\"", "other headers pass unchanged");
        assert_eq!(
            reply.text().await.unwrap(),
            format!("PUT /c/{i}.vcf card {i}").repeat(20)
        );
    }
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(proxy.counters().passed_through(), 3);
    assert!(proxy.counters().snapshot().values().all(|n| *n == 0));
}

#[tokio::test]
async fn canned_replies_never_reach_the_server() {
    for (fault, status, retry_after) in [
        (Fault::Http500, 500, None),
        (Fault::Http503, 503, None),
        (Fault::Http503RetryAfter, 503, Some("1")),
        (Fault::Http429RetryAfter, 429, Some("1")),
    ] {
        let (proxy, seen) = proxy(FaultRates::always(fault)).await;
        let reply = put(&proxy, "/c/a.vcf", "card").await.unwrap();
        assert_eq!(reply.status(), status, "{fault:?}");
        assert_eq!(
            reply.headers().get("retry-after").map(|v| v.to_str().unwrap()),
            retry_after,
            "{fault:?}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 0, "{fault:?} must not be forwarded");
        assert_eq!(proxy.counters().get(fault), 1);
    }
}

#[tokio::test]
async fn reset_mid_request_fails_the_client_and_never_reaches_the_server() {
    let (proxy, seen) = proxy(FaultRates::always(Fault::ResetMidRequest)).await;
    let err = put(&proxy, "/c/a.vcf", "card").await.unwrap_err();
    assert!(!err.is_timeout(), "a reset, not a time-out: {err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    assert_eq!(proxy.counters().get(Fault::ResetMidRequest), 1);
}

#[tokio::test]
async fn reset_mid_response_reaches_the_server_but_the_reply_is_lost() {
    let (proxy, seen) = proxy(FaultRates::always(Fault::ResetMidResponse)).await;
    let outcome = match put(&proxy, "/c/a.vcf", "card").await {
        Ok(reply) => reply.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(outcome.is_err(), "the client must not get a complete reply");
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the server did act");
    assert_eq!(proxy.counters().get(Fault::ResetMidResponse), 1);
}

#[tokio::test]
async fn stall_outlasts_the_client_time_out() {
    let (proxy, seen) = proxy(FaultRates::always(Fault::Stall)).await;
    let err = put(&proxy, "/c/a.vcf", "card").await.unwrap_err();
    assert!(err.is_timeout(), "the client's time-out ends a stall: {err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    assert_eq!(proxy.counters().get(Fault::Stall), 1);
}

#[tokio::test]
async fn slow_body_arrives_whole() {
    let (proxy, seen) = proxy(FaultRates::always(Fault::SlowBody)).await;
    let reply = put(&proxy, "/c/a.vcf", "card").await.unwrap();
    assert_eq!(reply.text().await.unwrap(), "PUT /c/a.vcf card".repeat(20));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(proxy.counters().get(Fault::SlowBody), 1);
}

#[tokio::test]
async fn a_held_request_waits_for_release_and_others_pass() {
    let (proxy, seen) = proxy(FaultRates::none()).await;
    let mut hold = proxy.hold(|method, target| method == "PUT" && target.ends_with("/held.vcf"));
    let url = proxy.url();
    let held = tokio::spawn(async move {
        client()
            .put(format!("{url}c/held.vcf"))
            .body("late")
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    hold.arrived(Duration::from_secs(30)).await;
    let other = put(&proxy, "/c/other.vcf", "x").await.unwrap();
    assert_eq!(other.status(), 200, "only the matching request is held");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the held request has not reached the server"
    );
    hold.release();
    assert_eq!(held.await.unwrap(), "PUT /c/held.vcf late".repeat(20));
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert_eq!(proxy.counters().held_requests(), 1);
    assert_eq!(
        proxy.counters().requests(),
        ["PUT /c/held.vcf", "PUT /c/other.vcf"],
        "the log shows requests in arrival order"
    );
}

#[tokio::test]
async fn mixed_rates_inject_every_kind_and_the_rest_passes() {
    let (proxy, _) = proxy(FaultRates::each(0.08).with(Fault::Stall, 0.0)).await;
    let mut ok = 0;
    for i in 0..150 {
        if let Ok(reply) = put(&proxy, &format!("/c/{i}.vcf"), "x").await
            && reply.status() == 200
            && reply.bytes().await.is_ok()
        {
            ok += 1;
        }
    }
    let counts = proxy.counters().snapshot();
    for fault in Fault::ALL.into_iter().filter(|f| *f != Fault::Stall) {
        assert!(counts[&fault] > 0, "{fault:?} never injected: {counts:?}");
    }
    let faulty: u64 = counts.values().sum();
    assert_eq!(faulty + proxy.counters().passed_through(), 150, "{counts:?}");
    assert!(
        ok as u64 >= proxy.counters().passed_through(),
        "passed requests succeed"
    );
}
