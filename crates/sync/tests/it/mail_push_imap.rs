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
