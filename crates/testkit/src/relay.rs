//! One client connection through the proxy: one request, then close.
//!
//! Why `Connection: close` on every request instead of following keep-alive:
//! a fault must hit one request, and a connection that carries exactly one
//! request makes "which request did the reset hit" unambiguous for both the
//! proxy and the client's retry logic (hyper never reuses a pooled connection
//! the proxy has half torn down). The cost is a loopback TCP handshake per
//! request, which is nothing next to a DAV server's work, and Radicale speaks
//! HTTP/1.0 without keep-alive anyway. Bodies are still read by their framing
//! (Content-Length or chunked), so the proxy knows where a request ends and
//! can answer or fail it without waiting for the client to close.

use std::sync::Arc;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::fault::Fault;
use crate::http1::{Head, read_body, read_head};
use crate::proxy::Shared;

pub(crate) async fn serve(client: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (client_read, mut client_write) = client.into_split();
    let mut client_read = BufReader::new(client_read);
    let Some(head) = read_head(&mut client_read).await? else {
        return Ok(());
    };
    let (method, target) = head.method_and_target();
    let (method, target) = (method.to_owned(), target.to_owned());
    shared.counters.request(&method, &target);

    let fault = match shared.holds.take(&method, &target) {
        Some(release) => {
            shared.counters.held();
            // Held requests are never faulted: the test wants this one to land.
            let body = read_body(&mut client_read, head.request_framing()).await?;
            let _ = release.await;
            shared.counters.passed();
            return forward(&shared, &head, &body, &method, &mut client_write, None).await;
        }
        None => shared.roll(),
    };
    if fault == Some(Fault::ResetMidRequest) {
        shared.counters.injected(Fault::ResetMidRequest);
        // Drop both halves with the body unread: the client sees its
        // connection torn down while it sends or waits.
        return Ok(());
    }
    let body = read_body(&mut client_read, head.request_framing()).await?;
    match fault {
        None => {
            shared.counters.passed();
            forward(&shared, &head, &body, &method, &mut client_write, None).await
        }
        Some(Fault::Stall) => {
            shared.counters.injected(Fault::Stall);
            let stall_for = shared.plan().stall_for;
            // Hold the connection open without a byte until the client gives
            // up (read returns) or the stall ends.
            let mut probe = [0u8; 1];
            let _ = tokio::time::timeout(stall_for, tokio::io::AsyncReadExt::read(&mut client_read, &mut probe)).await;
            Ok(())
        }
        Some(canned @ (Fault::Http500 | Fault::Http503 | Fault::Http503RetryAfter | Fault::Http429RetryAfter)) => {
            shared.counters.injected(canned);
            let retry_after = shared.plan().retry_after_secs;
            let (status, extra) = match canned {
                Fault::Http500 => ("500 Internal Server Error", String::new()),
                Fault::Http503 => ("503 Service Unavailable", String::new()),
                Fault::Http503RetryAfter => ("503 Service Unavailable", format!("Retry-After: {retry_after}\r\n")),
                _ => ("429 Too Many Requests", format!("Retry-After: {retry_after}\r\n")),
            };
            let text = format!("injected by the test proxy: {status}\n");
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{text}",
                text.len()
            );
            client_write.write_all(reply.as_bytes()).await?;
            client_write.shutdown().await
        }
        Some(Fault::ResetMidResponse | Fault::SlowBody) => {
            let fault = fault.expect("matched Some");
            shared.counters.injected(fault);
            forward(&shared, &head, &body, &method, &mut client_write, Some(fault)).await
        }
        Some(Fault::ResetMidRequest) => unreachable!("handled before the body was read"),
    }
}

/// Sends the request to the server and relays its reply, whole, cut short
/// (`ResetMidResponse`) or trickled (`SlowBody`).
async fn forward(
    shared: &Shared,
    head: &Head,
    body: &[u8],
    method: &str,
    client: &mut tokio::net::tcp::OwnedWriteHalf,
    fault: Option<Fault>,
) -> std::io::Result<()> {
    shared.counters.forwarded(head, body);
    let upstream = TcpStream::connect(shared.upstream).await?;
    let (up_read, mut up_write) = upstream.into_split();
    up_write.write_all(&head.to_bytes_closing()).await?;
    up_write.write_all(body).await?;
    let mut up_read = BufReader::new(up_read);
    let Some(reply) = read_head(&mut up_read).await? else {
        return Ok(());
    };
    // A body without length (`Framing::UntilClose`) stays so: the client
    // learns where it ends from the close that follows.
    let reply_body = read_body(&mut up_read, reply.reply_framing(method)).await?;
    let mut bytes = reply.to_bytes_closing();
    let head_len = bytes.len();
    bytes.extend_from_slice(&reply_body);
    match fault {
        Some(Fault::ResetMidResponse) => {
            // Half of the body (or of the head, when the body is too short to
            // cut), then the connection ends: the server acted, but the
            // client never gets a complete reply.
            let cut = if reply_body.len() >= 2 {
                head_len + reply_body.len() / 2
            } else {
                head_len / 2
            };
            client.write_all(&bytes[..cut]).await?;
            return Ok(());
        }
        Some(Fault::SlowBody) => {
            let plan = shared.plan();
            for piece in bytes.chunks(plan.trickle_bytes.max(1)) {
                client.write_all(piece).await?;
                client.flush().await?;
                tokio::time::sleep(plan.trickle_pause).await;
            }
        }
        _ => client.write_all(&bytes).await?,
    }
    client.shutdown().await
}
