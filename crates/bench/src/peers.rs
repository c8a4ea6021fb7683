//! Real DAV servers for the benchmarks: Radicale and Xandikos on a free port
//! of 127.0.0.1 with throw-away storage, killed on drop. Same approach as the
//! DAV connector's test harness (crates/connector-dav/tests/common).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crmsync_dav::{DavConfig, DavConnector};
use tempfile::TempDir;

use crate::error::BenchError;

pub const USER: &str = "crm";
pub const PASSWORD: &str = "bench";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerKind {
    Radicale,
    Xandikos,
}

impl PeerKind {
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Radicale => "radicale",
            PeerKind::Xandikos => "xandikos",
        }
    }
}

/// Finds a peer program on PATH or in the repo's venv (`scripts/test-env.sh`).
pub fn tool(name: &str) -> Result<PathBuf, BenchError> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/py/bin");
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(std::iter::once(venv))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| BenchError::Peer {
            tool: name.to_owned(),
            message: "not found on PATH nor in .tools/py/bin".into(),
        })
}

fn free_port() -> Result<u16, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(BenchError::io("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(BenchError::io("finding a free port"))?
        .port())
}

/// A running server with empty storage. Dropping it kills the process.
pub struct Peer {
    pub kind: PeerKind,
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Peer {
    pub fn start(kind: PeerKind) -> Result<Peer, BenchError> {
        let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
        let port = free_port()?;
        let root = dir.path();
        let log = std::fs::File::create(root.join("server.log")).map_err(BenchError::io("creating a log"))?;
        let log2 = log.try_clone().map_err(BenchError::io("creating a log"))?;
        let mut command = match kind {
            PeerKind::Radicale => {
                let config = format!(
                    "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {}\n\
                     [rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
                    root.join("collections").display()
                );
                std::fs::write(root.join("radicale.conf"), config).map_err(BenchError::io("writing radicale.conf"))?;
                let mut c = Command::new(tool("radicale")?);
                c.arg("--config").arg(root.join("radicale.conf"));
                c
            }
            PeerKind::Xandikos => {
                let mut c = Command::new(tool("xandikos")?);
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
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| BenchError::Peer {
                tool: kind.name().into(),
                message: e.to_string(),
            })?;
        let mut peer = Peer { kind, port, child, dir };
        peer.wait_ready()?;
        Ok(peer)
    }

    fn wait_ready(&mut self) -> Result<(), BenchError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::Peer {
                    tool: self.kind.name().into(),
                    message: format!("exited with {status}: {}", self.log()),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(BenchError::Peer {
            tool: self.kind.name().into(),
            message: format!("did not listen within 30 s: {}", self.log()),
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// crmsync's connector config for this server, with the defaults a user
    /// gets (concurrency included), so the raw client can match it.
    pub fn config(&self) -> DavConfig {
        DavConfig::new(self.url()).with_basic(USER, PASSWORD)
    }

    pub fn connector(&self) -> Result<DavConnector, BenchError> {
        Ok(DavConnector::new(&self.config())?)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
