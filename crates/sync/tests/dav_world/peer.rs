//! Real Radicale and Xandikos servers for the end-to-end tests: free ports on
//! 127.0.0.1, throw-away storage, killed by the process id we started when
//! the [`Peer`] is dropped. Same approach as crmsync-dav's own harness.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crmsync_dav::{DavConfig, RetryConfig};
use tempfile::TempDir;

/// Radicale's `owner_only` rights need a Basic user (any password with
/// `auth = none`); Xandikos ignores auth.
pub const USER: &str = "crm";
pub const PASSWORD: &str = "s3cret";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerKind {
    Radicale,
    Xandikos,
}

pub struct Peer {
    pub kind: PeerKind,
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
}

/// A tool from PATH or from the repo's venv (`scripts/test-env.sh` makes it).
pub fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/py/bin")
        .join(name);
    // The venv first for python3: the system one lacks the test clients.
    if name.starts_with("python") && venv.is_file() {
        return venv;
    }
    on_path
        .or_else(|| venv.is_file().then_some(venv))
        .unwrap_or_else(|| panic!("`{name}` is not installed: run scripts/test, or `source scripts/test-env.sh` first"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Peer {
    pub fn start(kind: PeerKind) -> Peer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let root = dir.path();
        let log = std::fs::File::create(root.join("server.log")).unwrap();
        let mut command = match kind {
            PeerKind::Radicale => {
                let config = format!(
                    "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {}\n\
                     [rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
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
                .arg(port.to_string())
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
        let mut peer = Peer {
            kind,
            port,
            child: Some(child),
            dir,
        };
        peer.wait_ready();
        peer
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
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

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// A scratch folder that lives as long as the peer.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// The connector config a profile would have, with quick retries.
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
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
