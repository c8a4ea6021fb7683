//! A loopback HTTP server that answers every request with one canned reply
//! and records what each request carried: the redirecting, refusing or
//! eavesdropping "server" of the tests of what crmsync sends where (issue 12).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::http1::{read_body, read_head};

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers `status` with `headers` and `body` to everything; stops when dropped.
pub struct CannedServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    task: JoinHandle<()>,
}

impl CannedServer {
    /// Listens on a free port of `ip` (a loopback address).
    pub async fn start(ip: IpAddr, status: u16, headers: &[(&str, &str)], body: &[u8]) -> io::Result<CannedServer> {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reply = format!("HTTP/1.1 {status} Canned\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            reply.push_str(&format!("{name}: {value}\r\n"));
        }
        reply.push_str("\r\n");
        let mut reply = reply.into_bytes();
        reply.extend_from_slice(body);
        let reply = Arc::new(reply);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, reply) = (log.clone(), reply.clone());
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    while let Ok(Some(head)) = read_head(&mut stream).await {
                        if read_body(&mut stream, head.request_framing()).await.is_err() {
                            return;
                        }
                        let (method, target) = head.method_and_target();
                        log.lock().expect("log lock").push(SeenRequest {
                            method: method.to_owned(),
                            target: target.to_owned(),
                            headers: head.headers.clone(),
                        });
                        if stream.get_mut().write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(CannedServer { addr, seen, task })
    }

    /// `http://ip:port/`.
    pub fn url(&self) -> String {
        match self.addr {
            SocketAddr::V4(a) => format!("http://{a}/"),
            SocketAddr::V6(a) => format!("http://[{}]:{}/", a.ip(), a.port()),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("log lock").clone()
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
