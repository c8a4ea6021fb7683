//! `crmsync demo` end to end, as a newcomer runs it: the real binary, a real
//! SQLite file, real vdir folders, and khard (a real vCard client) reading
//! what the demo wrote.

use std::path::Path;
use std::process::{Command, Output};

fn crmsync(args: &[&str]) -> Output {
    crate::support::crmsync_command()
        .args(args)
        .output()
        .expect("crmsync runs")
}

fn demo(dir: &Path) -> String {
    let out = crmsync(&["demo", "--dir", dir.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn items(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Lines of `profile NAME` section `collection:` in the demo's summary.
fn summary_line<'a>(out: &'a str, profile: &str, collection: &str) -> &'a str {
    let section = out
        .split(&format!("profile {profile}\n"))
        .nth(1)
        .expect("profile section");
    section
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{collection}:")))
        .expect("collection line")
}

#[test]
fn r_edit_1_demo_syncs_sample_crm_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let first = demo(&dir);
    assert!(first.contains("200 contacts"), "{first}");
    assert!(
        summary_line(&first, "alice", "contacts").contains("120 created in the groupware"),
        "{first}"
    );
    assert!(
        summary_line(&first, "bob", "contacts").contains("80 created in the groupware"),
        "{first}"
    );
    let alice = dir.join("mailboxes/alice");
    assert_eq!(items(&alice.join("contacts"), "vcf").len(), 120);
    assert!(!items(&alice.join("calendar"), "ics").is_empty());
    assert!(!items(&alice.join("tasks"), "ics").is_empty());
    // The weekly meeting is a series with an exception (R-CAL-4).
    let series = items(&alice.join("calendar"), "ics")
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|t| t.contains("Weekly sales meeting"))
        .expect("the recurring meeting is in alice's calendar");
    assert!(series.contains("RRULE:FREQ=WEEKLY"), "{series}");
    assert!(series.contains("EXDATE"), "{series}");
    assert!(series.contains("RECURRENCE-ID"), "{series}");

    // Second run: nothing changed, nothing to do.
    let again = demo(&dir);
    assert!(
        summary_line(&again, "alice", "contacts").contains("nothing to do"),
        "{again}"
    );

    // Edit one card and delete another in the vdir: the edit reaches the CRM,
    // the deletion keeps the CRM contact (R-DEL-1), and the summary says so.
    let cards = items(&alice.join("contacts"), "vcf");
    let text = std::fs::read_to_string(&cards[0]).unwrap();
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("TITLE") {
                "TITLE:Chief Demo Officer".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    std::fs::write(&cards[0], edited + "\r\n").unwrap();
    std::fs::remove_file(&cards[1]).unwrap();
    let after = demo(&dir);
    let line = summary_line(&after, "alice", "contacts");
    assert!(line.contains("1 updated in the CRM"), "{after}");
    assert!(line.contains("1 removed by the user"), "{after}");

    // The CRM really holds the edit: a dry run over the same config plans nothing.
    let config = dir.join("crmsync.toml");
    let dry = crmsync(&["sync", "--config", config.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(dry.status.success());
    let reports: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    let planned_writes: usize = reports
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["collections"].as_array().unwrap())
        .flat_map(|c| c["plan"]["actions"].as_array().unwrap())
        .filter(|a| a["target"] != "status")
        .count();
    assert_eq!(planned_writes, 0, "{reports:#}");
}

#[test]
fn khard_lists_the_contacts_the_demo_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    demo(&dir);
    let folder = dir.join("mailboxes/alice/contacts");
    let config = tmp.path().join("khard.conf");
    std::fs::write(
        &config,
        format!(
            "[addressbooks]\n[[alice]]\npath = {}\n\n[general]\ndefault_action = list\neditor = true\nmerge_editor = true\n",
            folder.display()
        ),
    )
    .unwrap();
    let out = Command::new("khard")
        .arg("-c")
        .arg(&config)
        .args(["list", "--parsable"])
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join(".config"))
        .output()
        .unwrap_or_else(|e| panic!("khard could not be run ({e}): run scripts/test, which installs it"));
    assert!(
        out.status.success(),
        "khard failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listing.lines().count(), 120, "{listing}");
    assert!(listing.lines().any(|l| l.contains("Ada Lovelace")), "{listing}");
}

#[test]
fn bad_config_is_named_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("crmsync.toml");
    std::fs::write(&config, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = crmsync(&["sync", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.lisen"), "{err}");
}

#[test]
fn unknown_profile_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    demo(&dir);
    let config = dir.join("crmsync.toml");
    let out = crmsync(&["sync", "--config", config.to_str().unwrap(), "--profile", "carol"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile named `carol`"));
}

// R-TRACK-MAIL-14
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_track_mail_14_the_demo_tracks_sample_email_from_a_private_dovecot() {
    // .ci/run and scripts/test-env.sh install dovecot-imapd: the demo's
    // e-mail part must run here, never be skipped.
    assert!(
        Path::new("/usr/sbin/dovecot").is_file(),
        "Dovecot is not installed (Debian: dovecot-imapd); scripts/test-env.sh installs it"
    );
    let tmp = tempfile::tempdir().unwrap();
    // As root the demo's Dovecot serves mail as nobody, who must enter here.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("demo");
    let first = tokio::task::block_in_place(|| demo(&dir));
    assert!(first.contains("3 messages are CRM e-mails"), "{first}");
    for line in [
        "\"Your offer for the Difference Engine\" from Ada Lovelace (contact), tracked by folder in CRM",
        "\"Meeting at the trade fair\" from Grace Lovelace (contact), tracked by keyword in INBOX",
        "\"Re: Your offer for the Difference Engine\" from Ada Lovelace (contact), tracked by reply in INBOX",
    ] {
        assert!(first.contains(line), "{line}\n{first}");
    }
    assert!(!first.contains("e-mail tracking skipped"), "{first}");

    // The CRM holds them, once each, and a second demo run adds none.
    let db = format!("sqlite://{}", dir.join("crm.db").display());
    let store = crmsync_store::Store::connect(&db).await.unwrap();
    let keys = |store: crmsync_store::Store| async move {
        let rows = sqlx::query("SELECT message_key FROM email_messages ORDER BY message_key")
            .fetch_all(store.pool())
            .await
            .unwrap();
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, "message_key").unwrap())
            .collect::<Vec<_>>()
    };
    let expected = [
        "fair-2026@compilerworksgmbh.example",
        "offer-2026@analyticalenginesltd.example",
        "terms-2026@analyticalenginesltd.example",
    ];
    assert_eq!(keys(store.clone()).await, expected);
    let reply = store
        .records()
        .email_by_message_key("terms-2026@analyticalenginesltd.example")
        .await
        .unwrap()
        .unwrap();
    let details = reply.fields.email.unwrap();
    assert_eq!(details.in_reply_to, ["offer-2026@analyticalenginesltd.example"]);
    let again = tokio::task::block_in_place(|| demo(&dir));
    assert!(again.contains("3 messages are CRM e-mails"), "{again}");
    assert_eq!(keys(store).await, expected);
}
