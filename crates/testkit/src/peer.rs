//! Real Radicale and Xandikos servers for tests: a free port of 127.0.0.1,
//! throw-away storage, killed by the process id we started when the [`Peer`]
//! is dropped. The executables come from PATH or the repo's venv
//! (`scripts/test-env.sh` makes `.tools/py`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Radicale's `owner_only` rights need a Basic user (any password with
/// `auth = none`); Xandikos ignores auth.
pub const USER: &str = "crm";
pub const PASSWORD: &str = "s3cret";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerKind {
    Radicale,
    /// Radicale with htpasswd authentication (plain-text passwords).
    RadicaleWithPassword,
    Xandikos,
}

/// A running DAV server. Dropping it kills the process it started.
pub struct Peer {
    pub kind: PeerKind,
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
}

/// Why a peer did not come up (for callers that report rather than panic).
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("`{0}` is not installed: run scripts/test, or `source scripts/test-env.sh` first")]
    NotInstalled(String),
    #[error("{kind:?}: {action}: {source}")]
    Io {
        kind: PeerKind,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{kind:?} exited with {status}: {log}")]
    Exited {
        kind: PeerKind,
        status: std::process::ExitStatus,
        log: String,
    },
    #[error("{kind:?} did not listen within {READY_SECS} s: {log}")]
    NotReady { kind: PeerKind, log: String },
}

/// How long a peer may take to listen; generous, since the machine is shared
/// by parallel builds. Only turns a server that never comes up into a failure.
const READY_SECS: u64 = 60;

impl PeerKind {
    /// The program's name, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => "radicale",
            PeerKind::Xandikos => "xandikos",
        }
    }
}

/// A tool from PATH or from the repo's venv; python from the venv first,
/// since the system one lacks the test clients.
pub fn find_tool(name: &str) -> Result<PathBuf, PeerError> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/py/bin")
        .join(name);
    if name.starts_with("python") && venv.is_file() {
        return Ok(venv);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .or_else(|| venv.is_file().then_some(venv))
        .ok_or_else(|| PeerError::NotInstalled(name.to_owned()))
}

/// [`find_tool`], failing the test when the tool is missing.
pub fn tool(name: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|e| panic!("{e}"))
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Peer {
    /// Starts a peer; panics (fails the test) when it does not come up.
    pub fn start(kind: PeerKind) -> Peer {
        Peer::try_start(kind).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(kind: PeerKind) -> Result<Peer, PeerError> {
        let io = |action: &'static str| move |source: std::io::Error| PeerError::Io { kind, action, source };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io("finding a free port"))?
            .port();
        let mut peer = Peer {
            kind,
            port,
            child: None,
            dir: tempfile::tempdir().map_err(io("creating a temp folder"))?,
        };
        peer.launch()?;
        Ok(peer)
    }

    fn launch(&mut self) -> Result<(), PeerError> {
        let kind = self.kind;
        let io = |action: &'static str| move |source: std::io::Error| PeerError::Io { kind, action, source };
        let root = self.dir.path();
        let log = std::fs::File::create(root.join("server.log")).map_err(io("creating the server log"))?;
        let mut command = match self.kind {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => {
                let auth = if self.kind == PeerKind::RadicaleWithPassword {
                    std::fs::write(root.join("users"), format!("{USER}:{PASSWORD}\n"))
                        .map_err(io("writing the users file"))?;
                    format!(
                        "type = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\ndelay = 0\n",
                        root.join("users").display()
                    )
                } else {
                    "type = none\n".to_owned()
                };
                // `max_content_length`: a deployed Radicale has a request
                // limit. A body over it (the bad-input table's 10 MB card)
                // is refused at once with 413, where with the default of
                // 100 MB Radicale parsed that card for a minute and more
                // before refusing it anyway (its item limit, 10 MB). Radicale
                // caps its item limit at 80 % of this one: 9.9 MB keeps
                // items up to 7.9 MB, above anything crmsync writes (6 MiB,
                // R-MAP-7) and the 7 MiB card the dashboard test stores.
                let config = format!(
                    "[server]\nhosts = 127.0.0.1:{}\nmax_content_length = 9900000\n[auth]\n{auth}[storage]\nfilesystem_folder = {}\n\
                     [rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
                    self.port,
                    root.join("collections").display()
                );
                std::fs::write(root.join("radicale.conf"), config).map_err(io("writing radicale.conf"))?;
                let mut c = Command::new(find_tool("radicale")?);
                c.arg("--config").arg(root.join("radicale.conf"));
                c
            }
            PeerKind::Xandikos => {
                let mut c = Command::new(find_tool("xandikos")?);
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
            .stdout(log.try_clone().map_err(io("creating the server log"))?)
            .stderr(log)
            .spawn()
            .map_err(io("starting"))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Polls the port; the deadline only turns a server that never comes up
    /// into a failure that shows its log.
    fn wait_ready(&mut self) -> Result<(), PeerError> {
        let deadline = Instant::now() + Duration::from_secs(READY_SECS);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                let log = self.log();
                return Err(PeerError::Exited {
                    kind: self.kind,
                    status,
                    log,
                });
            }
            if Instant::now() > deadline {
                return Err(PeerError::NotReady {
                    kind: self.kind,
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
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
        self.launch().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Where the server keeps its collections on disk (to count what it
    /// stored without asking it).
    pub fn storage(&self) -> PathBuf {
        match self.kind {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => self.dir.path().join("collections"),
            PeerKind::Xandikos => self.dir.path().join("data"),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A scratch folder that lives as long as the peer.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).expect("scratch folder");
        path
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}
