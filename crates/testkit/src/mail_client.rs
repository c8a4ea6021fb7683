//! A user's mail client for tests: each call runs one IMAP operation through
//! Python's `imaplib` (`mail_client.py`), so the messages crmsync sees were
//! placed by a client no one here wrote, the way Thunderbird would.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::peer::tool;

const SCRIPT: &str = include_str!("mail_client.py");

/// One user's login on a test [`crate::Dovecot`].
#[derive(Clone)]
pub struct MailClient {
    port: u16,
    user: String,
    password: String,
}

impl std::fmt::Debug for MailClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailClient")
            .field("port", &self.port)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl MailClient {
    pub fn new(port: u16, user: &str, password: &str) -> MailClient {
        MailClient {
            port,
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut child = Command::new(tool("python3"))
            .arg("-c")
            .arg(SCRIPT)
            .arg("127.0.0.1")
            .arg(self.port.to_string())
            .arg(&self.user)
            .arg(&self.password)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3 imaplib client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("message to the imap client");
        let out = child.wait_with_output().expect("imap client output");
        assert!(
            out.status.success(),
            "imaplib {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output").trim().to_string()
    }

    pub fn create(&self, folder: &str) {
        self.run(&["create", folder], b"");
    }

    /// Deletes a folder and what is in it (re-creating it gives a new UIDVALIDITY).
    pub fn delete(&self, folder: &str) {
        self.run(&["delete", folder], b"");
    }

    /// APPENDs `message` (RFC 5322 bytes) with `flags` (`$CRM \Seen`, may be
    /// empty); returns its UID (UIDPLUS).
    pub fn append(&self, folder: &str, flags: &str, message: &[u8]) -> u32 {
        self.run(&["append", folder, flags], message)
            .parse()
            .expect("APPENDUID")
    }

    /// Puts `count` generated messages into `folder` over one connection
    /// (MULTIAPPEND, 250 per command); their Message-IDs are
    /// `<PREFIX-i@load.example>`, i = 0..count.
    pub fn fill(&self, folder: &str, count: usize, prefix: &str) {
        self.run(&["fill", folder, &count.to_string(), prefix], b"");
    }

    /// How many messages of `folder` have `keyword`.
    pub fn count_with(&self, folder: &str, keyword: &str) -> usize {
        self.run(&["count", folder, keyword], b"").parse().expect("a count")
    }

    pub fn move_to(&self, folder: &str, uid: u32, target: &str) {
        self.run(&["move", folder, &uid.to_string(), target], b"");
    }

    pub fn add_keywords(&self, folder: &str, uid: u32, keywords: &str) {
        self.run(&["store", folder, &uid.to_string(), "+FLAGS", keywords], b"");
    }

    pub fn remove_keywords(&self, folder: &str, uid: u32, keywords: &str) {
        self.run(&["store", folder, &uid.to_string(), "-FLAGS", keywords], b"");
    }

    /// Marks the message `\Deleted` and EXPUNGEs the folder.
    pub fn expunge(&self, folder: &str, uid: u32) {
        self.run(&["expunge", folder, &uid.to_string()], b"");
    }

    /// The message's flags and keywords.
    pub fn flags(&self, folder: &str, uid: u32) -> Vec<String> {
        serde_json::from_str(&self.run(&["flags", folder, &uid.to_string()], b"")).expect("flags")
    }

    pub fn uids(&self, folder: &str) -> Vec<u32> {
        serde_json::from_str(&self.run(&["uids", folder], b"")).expect("uids")
    }
}
