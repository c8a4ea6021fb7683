//! A real `crmsync serve` for the binary tests that talk to it over HTTP:
//! a SQLite CRM with one user, the server on a free port, killed when
//! dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// 32 bytes, base64: the key that seals stored credentials (R-SVC-7).
pub const SECURITY_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// `crmsync --config CONFIG ARGS…`, with the security key only from the file.
pub fn crmsync(config: &Path, args: &[&str]) -> Output {
    super::crmsync_command()
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CRMSYNC_SECURITY_KEY")
        .output()
        .expect("run crmsync")
}

/// How the server is set up beyond its database and port.
pub struct ServeSettings<'a> {
    /// Hosts a profile may reach (R-SEC-1).
    pub allowed_hosts: &'a [&'a str],
    /// Off: runs happen only when the test asks for them.
    pub scheduler: bool,
}

/// A running `crmsync serve` and the one user's API token.
pub struct Serve {
    child: Child,
    pub base: String,
    pub port: u16,
    pub token: String,
    pub config: PathBuf,
    /// The server's standard error (its log).
    pub log: PathBuf,
}

impl Serve {
    /// Writes `dir/crmsync.toml`, migrates `dir/crm.db`, adds `user` and
    /// starts the server, returning once `/healthz` answers.
    pub async fn start(dir: &Path, user: &str, settings: ServeSettings<'_>) -> Serve {
        let port = super::free_port();
        let config = dir.join("crmsync.toml");
        let hosts: Vec<String> = settings.allowed_hosts.iter().map(|h| format!("\"{h}\"")).collect();
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"sqlite://{db}\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n{scheduler}\
                 [security]\nkey = \"{SECURITY_KEY}\"\nallowed_hosts = [{hosts}]\n",
                db = dir.join("crm.db").display(),
                scheduler = if settings.scheduler {
                    ""
                } else {
                    "[scheduler]\nenabled = false\n"
                },
                hosts = hosts.join(", "),
            ),
        )
        .unwrap();
        assert!(crmsync(&config, &["migrate"]).status.success());
        let added = crmsync(&config, &["--json", "user", "add", user]);
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let added: Value = serde_json::from_slice(&added.stdout).expect("user add --json");
        let token = added["token"].as_str().expect("a token").to_string();
        let log = dir.join("serve.log");
        let child = super::crmsync_command()
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("CRMSYNC_SECURITY_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start crmsync serve");
        let mut serve = Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            token,
            config,
            log,
        };
        serve.wait_healthy().await;
        serve
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits until `/healthz` answers; fails if the server exits.
    pub async fn wait_healthy(&mut self) {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        // The deadline only turns a hang into a failure (shared 2-core machine).
        let give_up = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            assert!(self.running(), "crmsync serve exited");
            if let Ok(reply) = http.get(format!("{}/healthz", self.base)).send().await
                && reply.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < give_up,
                "crmsync serve never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
