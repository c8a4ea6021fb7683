//! A private Dovecot IMAP server for tests (../shared/PEERS.md): its own
//! configuration (never the system one), a free port of 127.0.0.1, throw-away
//! mail storage, stopped by the process id we started when dropped. Debian's
//! `dovecot-imapd` provides the binary (`scripts/test-env.sh` installs it).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::mail_client::MailClient;
use crate::peer::free_port;

/// A running Dovecot. Dropping it stops the process it started.
pub struct Dovecot {
    pub port: u16,
    /// The IMAPS port (TLS from the first byte) of [`Dovecot::start_tls`];
    /// its plain port then offers STARTTLS.
    pub tls_port: Option<u16>,
    /// Behind a lock so a test can stop the server while a run borrows it.
    child: Mutex<Option<Child>>,
    dir: TempDir,
    users: Vec<(String, String)>,
}

impl Dovecot {
    /// Starts Dovecot with these `(user, password)` accounts (PLAIN passwords).
    pub fn start(users: &[(&str, &str)]) -> Dovecot {
        Self::start_with(users, false)
    }

    /// As [`Dovecot::start`], with TLS: a certificate for 127.0.0.1 and
    /// `localhost` issued by a throw-away CA ([`Dovecot::ca_file`]), IMAPS
    /// on `tls_port` and STARTTLS on `port`. Needs the `openssl` command.
    pub fn start_tls(users: &[(&str, &str)]) -> Dovecot {
        Self::start_with(users, true)
    }

    fn start_with(users: &[(&str, &str)], tls: bool) -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("crmsync-dovecot-")
            .tempdir()
            .expect("temp dir");
        let dovecot = Dovecot {
            port: free_port(),
            tls_port: tls.then(free_port),
            child: Mutex::new(None),
            dir,
            users: users.iter().map(|(u, p)| (u.to_string(), p.to_string())).collect(),
        };
        dovecot.write_config();
        dovecot.launch();
        dovecot
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The PEM file of the CA that issued the server's certificate (TLS only).
    pub fn ca_file(&self) -> PathBuf {
        self.root().join("ca.pem")
    }

    /// A CA and a server certificate it signs: rustls refuses a self-signed
    /// CA certificate used as the server's own.
    fn make_certificates(&self) {
        let root = self.root();
        std::fs::write(
            root.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .expect("certificate extensions");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let steps: [Vec<&str>; 3] = [
            [
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "3",
                    "-subj",
                    "/CN=crmsync test CA",
                ],
            ]
            .concat(),
            [
                &["req"][..],
                &ec,
                &["-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ]
            .concat(),
            vec![
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "cert.pem",
                "-days",
                "3",
                "-extfile",
                "server.ext",
            ],
        ];
        for args in steps {
            let out = Command::new("openssl")
                .args(&args)
                .current_dir(root)
                .output()
                .expect("run openssl (Debian's openssl package)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn write_config(&self) {
        let root = self.root();
        // Dovecot's auth and mail processes run as other users: the folder
        // (0700 from mktemp) must be readable, the mail folder theirs.
        set_mode(root, 0o755);
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(root.join(sub)).expect("dovecot folder");
        }
        let status = Command::new("chown")
            .arg("nobody:nogroup")
            .arg(root.join("mail"))
            .status()
            .expect("chown");
        assert!(status.success(), "chown of the Dovecot mail folder failed");
        let ssl = match self.tls_port {
            None => "ssl = no".to_string(),
            Some(_) => {
                self.make_certificates();
                format!(
                    "ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\nssl_min_protocol = TLSv1.2",
                    root = root.display()
                )
            }
        };
        let users: String = self.users.iter().map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n")).collect();
        std::fs::write(root.join("users"), users).expect("users file");
        let config = format!(
            r#"base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = crmsync-test-{port}
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
# A throw-away instance: no fsync per message (5,000 APPENDs in seconds).
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"#,
            root = root.display(),
            port = self.port,
            tls_port = self.tls_port.unwrap_or(0),
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("dovecot.conf");
    }

    fn launch(&self) {
        let out = std::fs::File::create(self.root().join("stdout.log")).expect("dovecot stdout");
        use std::os::unix::process::CommandExt;
        let child = Command::new(dovecot_binary())
            // Its own process group: stopping it takes its login and mail
            // processes along, and nothing else.
            .process_group(0)
            .arg("-c")
            .arg(self.root().join("dovecot.conf"))
            .arg("-F")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dovecot stdout"))
            .stderr(out)
            .spawn()
            .expect("start dovecot");
        *self.child.lock().unwrap() = Some(child);
        self.wait_ready();
    }

    /// Polls the port; the deadline only turns a server that never comes up
    /// into a failure that shows its log.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let up = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
        while !up(self.port) || self.tls_port.is_some_and(|p| !up(p)) {
            let exited = self
                .child
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("dovecot exited with {status}: {}", self.log());
            }
            assert!(Instant::now() < deadline, "dovecot did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Dovecot's own log and what it printed.
    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.root().join(name)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("dovecot.log"))
    }

    /// Stops the server (mail stays) as an outage would: SIGKILL to the
    /// process group we started, so open IMAP connections drop at once too.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap().take();
        if let Some(mut child) = child {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and mail.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    /// An independent IMAP client (Python's `imaplib`) logged in as `user`,
    /// playing that user's mail client.
    pub fn client(&self, user: &str) -> MailClient {
        let password = self
            .users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("no Dovecot user {user}"));
        MailClient::new(self.port, user, &password)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `dovecot` from PATH or /usr/sbin (not on a normal user's PATH).
fn dovecot_binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/dovecot");
    if sbin.is_file() {
        return sbin;
    }
    crate::peer::tool("dovecot")
}
