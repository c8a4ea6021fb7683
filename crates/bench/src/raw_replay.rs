//! The server's floor under a whole command (R-BENCH-11): the HTTP requests
//! crmsync sent, recorded whole by the proxy, sent again by a plain client
//! that does nothing else: no process start, no database, no parsing. Each
//! run of consecutive requests of one method goes at once (up to the
//! connector's concurrency, PUTs to a server that takes one write at a time
//! one by one), so the floor is what the server needs for those requests,
//! at crmsync's best.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crmsync_testkit::RecordedRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::BenchError;

/// Requests grouped as the floor sends them: each group is a run of
/// consecutive requests with the same method, sent at once; groups go one
/// after another (a pass's writes wait for its listing).
pub fn groups(requests: &[RecordedRequest]) -> Vec<&[RecordedRequest]> {
    requests.chunk_by(|a, b| a.method == b.method).collect()
}

/// Sends `requests` to `addr` again, grouped by [`groups`], each group at
/// most `at_once` at a time (`writes_at_once` for PUT and DELETE), and
/// answers how long they took. A write is sent without its `If-Match` /
/// `If-None-Match` (its ETag moved on when crmsync's write landed), so the
/// server does the same write again; any answer but 2xx is an error.
pub async fn replay(
    addr: SocketAddr,
    requests: &[RecordedRequest],
    at_once: usize,
    writes_at_once: usize,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    for group in groups(requests) {
        let write = matches!(group[0].method.as_str(), "PUT" | "DELETE");
        let limit = if write { writes_at_once } else { at_once }.max(1);
        for batch in group.chunks(limit) {
            let mut sent = tokio::task::JoinSet::new();
            for request in batch {
                let bytes = request.to_bytes_without(&["If-Match", "If-None-Match"]);
                let what = format!("{} {}", request.method, request.target);
                sent.spawn(async move {
                    send(addr, &bytes)
                        .await
                        .map_err(|e| BenchError::Raw(format!("{what}: {e}")))
                });
            }
            while let Some(done) = sent.join_next().await {
                done.map_err(|e| BenchError::Raw(format!("replay task: {e}")))??;
            }
        }
    }
    Ok(started.elapsed())
}

/// One request on its own connection (it says `Connection: close`), read
/// to the server's close; the status must be 2xx.
async fn send(addr: SocketAddr, bytes: &[u8]) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.write_all(bytes).await.map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.map_err(|e| e.to_string())?;
    let status_line = reply.split(|b| *b == b'\n').next().unwrap_or_default();
    let status = String::from_utf8_lossy(status_line);
    match status.split(' ').nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        _ => Err(format!("answered {}", status.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str) -> RecordedRequest {
        RecordedRequest::new(method, "/c/", vec![("Host".into(), "x".into())], Vec::new())
    }

    #[test]
    fn r_bench_11_runs_of_one_method_go_at_once_and_runs_one_after_another() {
        let sent: Vec<RecordedRequest> = ["REPORT", "REPORT", "REPORT", "PUT", "PUT", "REPORT"]
            .into_iter()
            .map(request)
            .collect();
        let sizes: Vec<usize> = groups(&sent).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, vec![3, 2, 1]);
    }

    #[test]
    fn r_bench_11_a_write_is_sent_again_without_its_precondition() {
        let put = RecordedRequest::new(
            "PUT",
            "/c/a.vcf",
            vec![
                ("If-Match".into(), "\"e1\"".into()),
                ("Content-Length".into(), "2".into()),
            ],
            b"hi".to_vec(),
        );
        let bytes = String::from_utf8(put.to_bytes_without(&["if-match"])).unwrap();
        assert_eq!(bytes, "PUT /c/a.vcf HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
    }
}
