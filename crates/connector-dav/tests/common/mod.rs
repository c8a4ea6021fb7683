//! Test harness: real Radicale and Xandikos servers on free ports of
//! 127.0.0.1 with throw-away storage, killed when the [`Peer`] is dropped.
#![allow(dead_code)]

pub mod suite;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crmsync_dav::{DavConfig, DavConnector, RetryConfig, ServerFamily};
use tempfile::TempDir;

pub const USER: &str = "crm";
pub const PASSWORD: &str = "s3cret";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerKind {
    Radicale,
    /// Radicale with htpasswd authentication (plain-text passwords).
    RadicaleWithPassword,
    Xandikos,
}

impl PeerKind {
    pub fn family(self) -> ServerFamily {
        match self {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => ServerFamily::Radicale,
            PeerKind::Xandikos => ServerFamily::Xandikos,
        }
    }
}

/// A running DAV server. Dropping it kills the process it started.
pub struct Peer {
    pub kind: PeerKind,
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
}

/// Finds a peer executable on PATH (or in the repo's venv that
/// `scripts/test-env.sh` creates), or fails saying how to get it.
fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/py/bin")
        .join(name);
    on_path.or_else(|| venv.is_file().then_some(venv)).unwrap_or_else(|| {
        panic!("`{name}` is not on PATH: run scripts/test (it installs the Python peers), or `source scripts/test-env.sh` first")
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Peer {
    pub fn start(kind: PeerKind) -> Peer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut peer = Peer {
            kind,
            port: free_port(),
            child: None,
            dir,
        };
        peer.launch();
        peer
    }

    fn launch(&mut self) {
        let root = self.dir.path();
        let log = std::fs::File::create(root.join("server.log")).unwrap();
        let mut command = match self.kind {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => {
                let auth = if self.kind == PeerKind::RadicaleWithPassword {
                    std::fs::write(root.join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
                    format!(
                        "type = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\ndelay = 0\n",
                        root.join("users").display()
                    )
                } else {
                    "type = none\n".to_owned()
                };
                let config = format!(
                    "[server]\nhosts = 127.0.0.1:{}\n[auth]\n{auth}[storage]\nfilesystem_folder = {}\n[rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
                    self.port,
                    root.join("collections").display()
                );
                std::fs::write(root.join("radicale.conf"), config).unwrap();
                let mut c = Command::new(tool("radicale"));
                c.arg("--config").arg(root.join("radicale.conf"));
                c
            }
            PeerKind::Xandikos => {
                let mut c = Command::new(tool("xandikos"));
                c.args([
                    "serve",
                    "--defaults",
                    "-l",
                    "127.0.0.1",
                    "--current-user-principal",
                    "/user/",
                ])
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-d")
                .arg(root.join("data"))
                .arg("--state-dir")
                .arg(root.join("state"));
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start DAV peer");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("{:?} exited with {status}: {}", self.kind, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{:?} did not start: {}",
                self.kind,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server (storage stays), as a crash or outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Config with the right credentials and quick retries (tests must not wait).
    pub fn config(&self) -> DavConfig {
        DavConfig {
            retry: RetryConfig {
                max_retries: 2,
                base_delay_ms: 20,
                max_delay_ms: 100,
                max_retry_after_secs: 1,
            },
            timeout_secs: 20,
            ..DavConfig::new(self.url()).with_basic(USER, PASSWORD)
        }
    }

    pub fn connector(&self) -> DavConnector {
        DavConnector::new(&self.config()).expect("connector")
    }

    /// A plain HTTP client: the "independent client" editing behind crmsync's back.
    pub fn raw(&self) -> Raw {
        Raw {
            base: self.url(),
            client: reqwest::Client::new(),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Plain HTTP requests to a peer, bypassing the connector.
pub struct Raw {
    base: String,
    client: reqwest::Client,
}

pub struct RawReply {
    pub status: u16,
    pub version: reqwest::Version,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Raw {
    /// `path` is absolute on the server (`/user/contacts/x.vcf`).
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawReply {
        let url = format!("{}{}", self.base.trim_end_matches('/'), path);
        let mut request = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .basic_auth(USER, Some(PASSWORD))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("raw request");
        RawReply {
            status: response.status().as_u16(),
            version: response.version(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    pub async fn put(&self, path: &str, body: &[u8]) -> RawReply {
        self.send("PUT", path, &[("Content-Type", "text/vcard")], body).await
    }

    pub async fn xml(&self, method: &str, path: &str, depth: &str, body: &str) -> RawReply {
        self.send(
            method,
            path,
            &[("Content-Type", "application/xml"), ("Depth", depth)],
            body.as_bytes(),
        )
        .await
    }
}
