//! The demo's own Dovecot: started from the demo folder when the machine has
//! the `dovecot` binary (Debian: `dovecot-imapd`), on a free port of
//! 127.0.0.1, with a configuration of its own (never the system's) and its
//! mail kept in the demo folder, so a second demo run finds the same
//! mailbox. It is stopped (its process group) when the demo ends.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The sample mailbox's login.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "alice-demo";

/// How long Dovecot may take to listen; a loaded machine takes a second.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A running private Dovecot; dropping it stops it.
pub struct DemoDovecot {
    pub port: u16,
    root: PathBuf,
    child: Child,
}

/// Where the `dovecot` binary is, if installed: /usr/sbin is on no normal
/// user's PATH.
pub fn binary() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/dovecot");
    if sbin.is_file() {
        return Some(sbin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("dovecot"))
        .find(|p| p.is_file())
}

impl DemoDovecot {
    /// Starts `binary` with its configuration and mail under `root`.
    pub fn start(binary: &Path, root: &Path) -> anyhow::Result<DemoDovecot> {
        let port = free_port()?;
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(root.join(sub))
                .with_context(|| format!("creating {}", root.join(sub).display()))?;
        }
        let account = Account::current(root)?;
        std::fs::write(root.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))?;
        std::fs::write(root.join("dovecot.conf"), config(root, port, &account))?;
        let log = std::fs::File::create(root.join("stdout.log"))?;
        use std::os::unix::process::CommandExt;
        let child = Command::new(binary)
            // Its own process group: stopping it takes its login and mail
            // processes along, and nothing else.
            .process_group(0)
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .arg("-F")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut dovecot = DemoDovecot {
            port,
            root: root.to_path_buf(),
            child,
        };
        dovecot.wait_listening()?;
        Ok(dovecot)
    }

    fn wait_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("dovecot exited with {status}: {}", self.log());
            }
            if Instant::now() > deadline {
                bail!("dovecot did not listen within {START_LIMIT:?}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The last lines Dovecot wrote, for an error message.
    fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.root.join(name)).unwrap_or_default();
        let all = format!("{}{}", read("stdout.log"), read("dovecot.log"));
        let lines: Vec<&str> = all.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for DemoDovecot {
    fn drop(&mut self) {
        // SIGTERM to the group we started: Dovecot ends its children itself.
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill(2) with a negative pid signals that process group;
        // it is ours (process_group(0) above) and touches no memory.
        unsafe {
            libc::kill(group, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// Who the mail processes run as. As root: `nobody`, owning the mail folder
/// (Dovecot refuses to serve mail as root). As anyone else: that user for
/// every Dovecot process, which Dovecot allows for a private instance.
struct Account {
    user: String,
    group: String,
    root: bool,
}

impl Account {
    fn current(root: &Path) -> anyhow::Result<Account> {
        // SAFETY: geteuid/getegid cannot fail and read no memory of ours.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if uid == 0 {
            // Dovecot's auth and mail processes run as other users: the
            // folder must be readable, the mail folder theirs, and every
            // folder above it open to them.
            use std::os::unix::fs::PermissionsExt;
            if let Some(closed) = root
                .ancestors()
                .skip(1)
                .find(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 == 0))
            {
                bail!(
                    "as root, Dovecot serves mail as nobody, who cannot enter {}; give the demo a --dir \
                     others may enter (e.g. under /tmp)",
                    closed.display()
                );
            }
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
            let status = Command::new("chown")
                .arg("-R")
                .arg("nobody:nogroup")
                .arg(root.join("mail"))
                .status()
                .context("chown of the demo's mail folder")?;
            if !status.success() {
                bail!("chown nobody:nogroup of {} failed", root.join("mail").display());
            }
            return Ok(Account {
                user: "nobody".into(),
                group: "nogroup".into(),
                root: true,
            });
        }
        let name = |flag: &str, fallback: u32| -> String {
            Command::new("id")
                .arg(flag)
                .output()
                .ok()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| fallback.to_string())
        };
        let (user, group) = (name("-un", uid), name("-gn", gid));
        Ok(Account {
            user,
            group,
            root: false,
        })
    }
}

fn config(root: &Path, port: u16, account: &Account) -> String {
    let (user, group) = (&account.user, &account.group);
    let own_users = if account.root {
        String::new()
    } else {
        format!("default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n")
    };
    format!(
        r#"# Written by `crmsync demo`: a private instance, not the system's Dovecot.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = crmsync-demo-{port}
{own_users}protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
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
  args = uid={user} gid={group} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"#,
        root = root.display(),
    )
}

/// A port of 127.0.0.1 nothing listens on now.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
