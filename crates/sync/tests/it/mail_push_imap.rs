//! IDLE against a real Dovecot (issue 14 item 7, the building block): the
//! watcher wakes when a user's client puts a message into the folder, stays
//! quiet otherwise, and reports a lost server as worth retrying.

use std::time::Duration;

use crate::mail_world::message;
use crmsync_connector::Reach;
use crmsync_imap::{ImapConfig, ImapWatcher, TlsMode, Wake};
use crmsync_testkit::Dovecot;

// R-TRACK-MAIL-10
#[tokio::test]
async fn r_track_mail_10_idle_wakes_when_a_message_arrives_and_a_lost_server_is_transient() {
    let dovecot = Dovecot::start(&[("alice", "alice-pw")]);
    let client = dovecot.client("alice");
    client.create("CRM");
    let config = ImapConfig::with_password("127.0.0.1", dovecot.port, TlsMode::None, "alice", "alice-pw");
    let mut watcher = ImapWatcher::new(config, Reach::Any, "CRM").unwrap();
    let long = Duration::from_secs(20);
    assert_eq!(watcher.wait(long).await.unwrap(), Wake::Changed, "a new connection");
    // Nothing happens: the wait ends quiet (the only timed wait here, and
    // nothing can make it fail but a spurious wake).
    assert_eq!(watcher.wait(Duration::from_millis(300)).await.unwrap(), Wake::Quiet);

    let raw = message(
        Some("idle-1@x"),
        "carla@customer.example",
        "alice@crm.example",
        "Push",
        "",
        "x",
    );
    let appending = tokio::task::spawn_blocking(move || client.append("CRM", "", &raw));
    let woke = watcher.wait(long).await.unwrap();
    appending.await.unwrap();
    assert_eq!(woke, Wake::Changed, "the new message wakes the watcher");

    dovecot.stop();
    let lost = watcher.wait(long).await;
    assert!(
        matches!(&lost, Err(e) if e.is_transient()),
        "a lost server is worth retrying: {lost:?}"
    );
    dovecot.restart();
    assert_eq!(watcher.wait(long).await.unwrap(), Wake::Changed, "reconnected");
    watcher.close().await;
}

// R-TRACK-MAIL-13
#[tokio::test]
async fn r_track_mail_13_the_watcher_is_quiet_at_crmsyncs_own_mark_and_wakes_at_a_users_flag() {
    let dovecot = Dovecot::start(&[("alice", "alice-pw")]);
    let client = dovecot.client("alice");
    client.create("CRM");
    let raw = |id: &str| message(Some(id), "carla@customer.example", "alice@crm.example", id, "", "x");
    // One message already marked, so the folder knows the keyword and the
    // server reports the mark below as a FETCH of flags alone.
    client.append("CRM", "$CRMTracked", &raw("old@x"));
    let uid = client.append("CRM", "$CRM", &raw("new@x"));
    let config = ImapConfig::with_password("127.0.0.1", dovecot.port, TlsMode::None, "alice", "alice-pw");
    let mut watcher = ImapWatcher::new(config.clone(), Reach::Any, "CRM").unwrap();
    // Waits end at the first report; this bound only turns a hang into a failure.
    let long = Duration::from_secs(60);
    assert_eq!(watcher.wait(long).await.unwrap(), Wake::Changed, "a new connection");

    // crmsync marks the message (as a run does): the one report is no change.
    let imap = crmsync_imap::ImapConnector::new(config).unwrap();
    use crmsync_connector::MailSource;
    assert_eq!(
        imap.add_keywords("CRM", &[(u64::from(uid), None)], "$CRMTracked")
            .await
            .unwrap(),
        [u64::from(uid)]
    );
    imap.close().await;
    assert_eq!(watcher.wait(long).await.unwrap(), Wake::Quiet, "crmsync's own mark");

    // The user removes the tag from the marked message: a change (R-TRACK-10).
    let user = client.clone();
    let removing = tokio::task::spawn_blocking(move || user.remove_keywords("CRM", uid, "$CRM"));
    let woke = watcher.wait(long).await.unwrap();
    removing.await.unwrap();
    assert_eq!(woke, Wake::Changed, "removing the tag wakes the watcher");
    watcher.close().await;
}
