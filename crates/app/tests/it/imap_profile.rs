//! The README's IMAP profile, end to end: the real `crmsync` binary with a
//! config file naming `kind = "imap"` (password from the environment) against
//! a real Dovecot, a message placed in the tracking folder with imaplib.

use std::process::Output;

use crmsync_model::{ActivityFields, ActivityKind};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_testkit::Dovecot;

fn crmsync(config: &str, args: &[&str]) -> Output {
    crate::support::crmsync_command()
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ANNA_IMAP_PASSWORD", "anna-pw")
        .output()
        .expect("crmsync runs")
}

fn ok(config: &str, args: &[&str]) -> String {
    let out = crmsync(config, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// R-TRACK-1, R-TRACK-4, R-CFG-SPEC-1
#[tokio::test]
async fn r_track_1_an_imap_profile_in_the_config_file_tracks_the_crm_folder() {
    let dovecot = Dovecot::start(&[("anna", "anna-pw")]);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("crm.db");
    let config = tmp.path().join("crmsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\n[[profile]]\nname = \"anna-mail\"\nuser = \"anna\"\n\
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
    // The first run creates the tracking folder CRM.
    ok(config, &["sync"]);
    let mail = dovecot.client("anna");
    let uid = mail.append(
        "CRM",
        "",
        b"Message-ID: <cli-1@customer.example>\r\nFrom: carla@customer.example\r\nTo: anna@crm.example\r\n\
Subject: Tracked from Thunderbird\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nHello\r\n",
    );
    ok(config, &["sync"]);
    assert!(mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"));

    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let emails: Vec<_> = store
        .records()
        .list::<ActivityFields>(&ListQuery {
            limit: MAX_PAGE,
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|a| a.fields.kind == ActivityKind::Email)
        .collect();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].fields.subject, "Tracked from Thunderbird");
}
