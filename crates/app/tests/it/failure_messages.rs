//! The operator's common failures, through the real `crmsync` binary (issue
//! #5): a wrong password against a real Radicale with htpasswd, a server that
//! does not answer, and a mass delete held by the guard (R-SAFE-3). Each
//! message says what went wrong and what to do, down to the command to run.

use crate::support;
use support::{free_port, text};

use std::path::{Path, PathBuf};
use std::process::Output;

use crmsync_model::{ActivityFields, ActivityKind};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_testkit::{Peer, PeerKind};

/// Radicale with htpasswd authentication knows this user and password.
const DAV_USER: &str = crmsync_testkit::USER;
const DAV_PASSWORD: &str = crmsync_testkit::PASSWORD;
const WRONG_PASSWORD: &str = "not-the-Password-42";

fn crmsync(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = support::crmsync_command();
    command.arg("--config").arg(config).args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("crmsync runs")
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
    let radicale = Peer::start(PeerKind::RadicaleWithPassword);
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
    let out = support::crmsync_command()
        .args(["demo", "--dir"])
        .arg(&demo)
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
