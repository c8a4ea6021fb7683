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

/// A tool from PATH or from the repo's venv; python from the venv first,
/// since the system one lacks the test clients.
pub fn tool(name: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/py/bin")
        .join(name);
    if name.starts_with("python") && venv.is_file() {
        return venv;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .or_else(|| venv.is_file().then_some(venv))
        .unwrap_or_else(|| panic!("`{name}` is not installed: run scripts/test, or `source scripts/test-env.sh` first"))
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Peer {
    pub fn start(kind: PeerKind) -> Peer {
        let mut peer = Peer {
            kind,
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        peer.launch();
        peer
    }

    fn launch(&mut self) {
        let root = self.dir.path();
        let log = std::fs::File::create(root.join("server.log")).expect("server log");
        let mut command = match self.kind {
            PeerKind::Radicale | PeerKind::RadicaleWithPassword => {
                let auth = if self.kind == PeerKind::RadicaleWithPassword {
                    std::fs::write(root.join("users"), format!("{USER}:{PASSWORD}\n")).expect("users file");
                    format!(
                        "type = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\ndelay = 0\n",
                        root.join("users").display()
                    )
                } else {
                    "type = none\n".to_owned()
                };
                let config = format!(
                    "[server]\nhosts = 127.0.0.1:{}\n[auth]\n{auth}[storage]\nfilesystem_folder = {}\n\
                     [rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
                    self.port,
                    root.join("collections").display()
                );
                std::fs::write(root.join("radicale.conf"), config).expect("radicale.conf");
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
            .stdout(log.try_clone().expect("server log"))
            .stderr(log)
            .spawn()
            .expect("start DAV peer");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Polls the port; the deadline only turns a server that never comes up
    /// into a failure that shows its log.
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
