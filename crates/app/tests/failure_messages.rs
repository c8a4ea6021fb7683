//! The operator's common failures, through the real `crmsync` binary (issue
//! #5): a wrong password against a real Radicale with htpasswd, a server that
//! does not answer, and a mass delete held by the guard (R-SAFE-3). Each
//! message says what went wrong and what to do, down to the command to run.

mod support;

use support::{free_port, text};

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crmsync_model::{ActivityFields, ActivityKind};
use crmsync_store::{ListQuery, MAX_PAGE, Store};

const DAV_USER: &str = "crm";
const DAV_PASSWORD: &str = "s3cret-Radicale";
const WRONG_PASSWORD: &str = "not-the-Password-42";

fn crmsync(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crmsync"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CRMSYNC_CONFIG")
        .env_remove("CRMSYNC_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("crmsync runs")
}

/// Radicale with htpasswd authentication on a free port of 127.0.0.1, killed on drop.
struct Radicale {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Radicale {
    fn start() -> Radicale {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let port = free_port();
        std::fs::write(root.join("users"), format!("{DAV_USER}:{DAV_PASSWORD}\n")).expect("htpasswd");
        let config = format!(
            "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = htpasswd\nhtpasswd_filename = {}\n\
             htpasswd_encryption = plain\ndelay = 0\n[storage]\nfilesystem_folder = {}\n\
             [rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
            root.join("users").display(),
            root.join("collections").display()
        );
        std::fs::write(root.join("radicale.conf"), config).expect("radicale config");
        let log = std::fs::File::create(root.join("server.log")).expect("log");
        let child = Command::new(tool("radicale"))
            .arg("--config")
            .arg(root.join("radicale.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start radicale");
        let mut radicale = Radicale { port, child, dir };
        radicale.wait_ready();
        radicale
    }

    fn wait_ready(&mut self) {
        let give_up = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().expect("poll radicale") {
                panic!("radicale exited with {status}: {}", self.log());
            }
            assert!(Instant::now() < give_up, "radicale did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A peer executable on PATH or in the repository's venv (`scripts/test-env.sh`).
fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/py/bin")
        .join(name);
    on_path
        .or_else(|| venv.is_file().then_some(venv))
        .unwrap_or_else(|| panic!("`{name}` is not on PATH: `source scripts/test-env.sh` installs the Python peers"))
}

/// A SQLite CRM with user anna and one DAV profile `anna` pointing at `url`,
/// its password taken from ANNA_DAV_PASSWORD (R-CFG-SECRET-1).
fn dav_setup(dir: &Path, url: &str) -> PathBuf {
    let config = dir.join("crmsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://crm.db\"\n\n[[profile]]\nname = \"anna\"\nuser = \"anna\"\n\
             connector = {{ kind = \"dav\", url = \"{url}\", username = \"{DAV_USER}\", \
             password = {{ env = \"ANNA_DAV_PASSWORD\" }}, timeout_secs = 20 }}\n"
        ),
    )
    .expect("write config");
    let out = crmsync(&config, &["user", "add", "anna", "--email", "anna@example.com"], &[]);
    assert!(out.status.success(), "user add: {}", text(&out.stderr));
    config
}

// Issue #5 "wrong password" (R-OPS-8): the message names the refusal, says
// which settings to correct, and never shows the password; the same profile
// with the right password then syncs, so the message was about the password
// only.
#[test]
fn wrong_password_says_which_settings_to_correct_and_hides_the_password() {
    let radicale = Radicale::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dav_setup(dir.path(), &radicale.url());

    let out = crmsync(
        &config,
        &["sync", "--profile", "anna"],
        &[("ANNA_DAV_PASSWORD", WRONG_PASSWORD)],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("authentication failed"), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(
        err.contains("correct `username` and `password`") && err.contains("of profile anna in the configuration"),
        "says which settings to correct: {err}"
    );
    assert!(err.contains("then run: crmsync sync --profile anna"), "{err}");
    assert!(!err.contains(WRONG_PASSWORD), "the password never appears: {err}");
    assert!(
        !err.contains("retries automatically"),
        "a one-off sync does not retry: {err}"
    );

    let out = crmsync(
        &config,
        &["sync", "--profile", "anna"],
        &[("ANNA_DAV_PASSWORD", DAV_PASSWORD)],
    );
    assert!(
        out.status.success(),
        "the right password syncs: {}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        radicale.log()
    );
}

// Issue #5 "server unreachable" (R-OPS-8): a closed port of 127.0.0.1. The
// message names the address it tried, that the failure is temporary, where
// the address is set, and the command that tries again.
#[test]
fn unreachable_server_names_the_address_and_the_command_to_try_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Bound and released at once: nothing listens there.
    let url = format!("http://127.0.0.1:{}/", free_port());
    let config = dav_setup(dir.path(), &url);

    let out = crmsync(
        &config,
        &["sync", "--profile", "anna"],
        &[("ANNA_DAV_PASSWORD", DAV_PASSWORD)],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot reach the server"), "{err}");
    assert!(err.contains(&url), "names the address it tried: {err}");
    assert!(err.contains("(temporary)"), "{err}");
    assert!(
        err.contains("check the server address (`url` of profile anna in the configuration)"),
        "{err}"
    );
    assert!(err.contains("then run: crmsync sync --profile anna"), "{err}");
    assert!(
        !err.contains("retries automatically"),
        "a one-off sync does not retry: {err}"
    );
}

fn mailbox_items(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("mailbox folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Task-like activities (tasks, calls, faxes, letters): what a `tasks` folder holds.
async fn crm_tasks(db: &Path) -> usize {
    let store = Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the demo CRM");
    let page = store
        .records()
        .list::<ActivityFields>(&ListQuery {
            visible_to: None,
            owner_id: None,
            modified_since: None,
            cursor: None,
            limit: MAX_PAGE,
        })
        .await
        .expect("list activities");
    store.close().await;
    page.items
        .iter()
        .filter(|a| a.fields.kind != ActivityKind::Appointment)
        .count()
}

// Issue #5 "mass-delete guard tripped: how to confirm" (R-SAFE-3, R-ENG-9,
// R-OPS-4, R-OPS-9): emptying a mailbox's tasks folder would delete those
// tasks in the CRM (R-DEL-10). The run is held: the message says how many of
// which collection would go where, that nothing changed, and the exact
// command to confirm; running that command then applies the deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_delete_guard_says_what_was_held_back_and_its_confirm_command_works() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_crmsync"))
        .args(["demo", "--dir"])
        .arg(&demo)
        .env_remove("CRMSYNC_CONFIG")
        .env_remove("CRMSYNC_LOG")
        .output()
        .expect("crmsync demo runs");
    assert!(out.status.success(), "demo: {}", text(&out.stderr));
    let config = demo.join("crmsync.toml");
    let db = demo.join("crm.db");

    let tasks = mailbox_items(&demo.join("mailboxes").join("alice").join("tasks"), "ics");
    assert!(tasks.len() >= 5, "the demo gives alice enough tasks for the guard");
    let crm_before = crm_tasks(&db).await;
    for f in &tasks {
        std::fs::remove_file(f).expect("delete a task file");
    }

    let out = crmsync(&config, &["sync", "--profile", "alice"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "held runs exit 3: {stdout}{}",
        text(&out.stderr)
    );
    let held = format!(
        "would take {n} of the {n} CRM records of tasks out of sync ({n} deleted)",
        n = tasks.len()
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("HELD (R-SAFE-3)"))
        .unwrap_or_else(|| panic!("a HELD line: {stdout}"));
    assert!(line.contains(&held), "says how many: {line}");
    assert!(line.contains("nothing was changed in tasks"), "{line}");
    assert!(
        stdout.contains("tasks:    nothing applied: held by the mass-delete guard"),
        "the summary does not claim the folder is in step: {stdout}"
    );
    assert_eq!(crm_tasks(&db).await, crm_before, "nothing was deleted in the CRM");

    // The exact command the message gives, run as written.
    let confirm = stdout
        .split('`')
        .find(|part| part.starts_with("crmsync sync") && part.contains("--confirm-mass-delete"))
        .unwrap_or_else(|| panic!("the confirm command in backquotes: {stdout}"));
    assert_eq!(confirm, "crmsync sync --profile alice --confirm-mass-delete");
    let args: Vec<&str> = confirm.split_whitespace().skip(1).collect();
    let out = crmsync(&config, &args, &[]);
    assert!(
        out.status.success(),
        "confirmed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        crm_tasks(&db).await,
        crm_before - tasks.len(),
        "the confirmed run deleted the tasks in the CRM"
    );
}
