//! Issue 14 item 8 (R-TRACK-5, R-TRACK-MAIL-2, R-SAFE-1): the real `crmsync
//! sync` binary's first scan of a tracking folder holding N messages is
//! killed with SIGKILL part way, then run again: every message is one CRM
//! e-mail, tracked and marked `$CRMTracked` exactly once.
//!
//! The kill moment is counted in CRM e-mails written (read from the
//! database), not in seconds, so a loaded machine cannot make it miss the
//! scan. Size: `CRMSYNC_KILL_MESSAGES` (default 5,000, the figure);
//! the messages are put with MULTIAPPEND over one imaplib connection and
//! the time it took is printed.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crmsync_store::Store;
use crmsync_testkit::Dovecot;
use sqlx::Row as _;

const PROFILE: &str = "anna-mail";

fn crmsync(config: &str, args: &[&str]) -> Output {
    crate::support::crmsync_command()
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ANNA_IMAP_PASSWORD", "anna-pw")
        .output()
        .expect("crmsync runs")
}

fn ok(config: &str, args: &[&str]) {
    let out = crmsync(config, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn count(store: &Store, sql: &'static str) -> usize {
    let row = sqlx::query(sql).fetch_one(store.pool()).await.unwrap();
    row.try_get::<i64, _>(0).unwrap() as usize
}

async fn emails(store: &Store) -> usize {
    count(store, "SELECT COUNT(*) FROM email_messages").await
}

// R-TRACK-5, R-TRACK-MAIL-2, R-TRACK-MAIL-6, R-SAFE-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_track_mail_2_a_first_scan_killed_part_way_then_rerun_tracks_every_message_exactly_once() {
    let n: usize = std::env::var("CRMSYNC_KILL_MESSAGES")
        .map(|v| v.parse().expect("CRMSYNC_KILL_MESSAGES is a whole number"))
        .unwrap_or(5_000);
    let dovecot = Dovecot::start(&[("anna", "anna-pw")]);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("crm.db");
    let config = tmp.path().join("crmsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\n[[profile]]\nname = \"{PROFILE}\"\nuser = \"anna\"\n\
             connector = {{ kind = \"imap\", host = \"127.0.0.1\", port = {}, tls = \"none\", username = \"anna\", \
             password = {{ env = \"ANNA_IMAP_PASSWORD\" }} }}\n",
            db.display(),
            dovecot.port
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    ok(config, &["migrate"]);
    ok(config, &["user", "add", "anna", "--email", "anna@crm.example"]);
    let mail = dovecot.client("anna");
    mail.create("CRM");
    let started = Instant::now();
    mail.fill("CRM", n, "bulk");
    println!(
        "MULTIAPPEND of {n} messages over one imaplib connection: {:?}",
        started.elapsed()
    );
    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();

    // The first scan, killed once a fifth of the messages are CRM e-mails.
    let mut child = crate::support::crmsync_command()
        .args(["--config", config, "sync"])
        .env("ANNA_IMAP_PASSWORD", "anna-pw")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("crmsync starts");
    let started = Instant::now();
    let threshold = (n / 5).max(1);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the first scan ended ({status}) before {threshold} of {n} messages were in the CRM");
        }
        if emails(&store).await >= threshold {
            // `Child::kill` is SIGKILL on Unix: no handler runs.
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_kill = emails(&store).await;
    println!(
        "killed after {:?} with {at_kill} of {n} messages in the CRM",
        started.elapsed()
    );
    assert!(at_kill < n, "the kill came too late to interrupt the scan");

    let started = Instant::now();
    ok(config, &["sync"]);
    println!("the second run finished the scan in {:?}", started.elapsed());

    // Every message exactly once: one key, one CRM e-mail, one tracked row,
    // marked in the mailbox.
    assert_eq!(emails(&store).await, n);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM activities").await,
        n,
        "no CRM e-mail without its key"
    );
    let keys: std::collections::BTreeSet<String> = sqlx::query("SELECT message_key FROM email_messages")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("message_key").unwrap())
        .collect();
    let expected: std::collections::BTreeSet<String> = (0..n).map(|i| format!("bulk-{i}@load.example")).collect();
    assert_eq!(keys, expected);
    let rows = store.sync_state().tracked_mail(PROFILE).await.unwrap();
    assert_eq!(rows.len(), n);
    assert!(
        rows.iter().all(|r| r.tracked && r.marked),
        "every row tracked and marked"
    );
    assert_eq!(mail.count_with("CRM", "$CRMTracked"), n, "every message marked");

    // Nothing is left: a third run creates nothing.
    ok(config, &["sync"]);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM activities").await, n);
}
