//! R-SEC-1 for IMAP: a non-admin's profile connects to no internal address,
//! neither by address nor by name; the refusal happens before any TCP
//! connection and names the setting that would allow it. The allow-list
//! (here 127.0.0.1, where the test Dovecot runs) opens it again.

use std::net::{Ipv4Addr, TcpListener};

use crmsync_connector::{AllowList, ConnectorError, MailSource, Reach};
use crmsync_imap::{ImapConfig, ImapConnector, TlsMode};
use crmsync_testkit::Dovecot;

fn users_reach(allowed: &[&str]) -> Reach {
    Reach::Public(AllowList::parse(allowed).unwrap())
}

// R-SEC-1
#[tokio::test]
async fn r_sec_1_a_users_imap_profile_connects_to_no_internal_address() {
    // What an internal mail server would be: it must see no connection.
    let inside = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    inside.set_nonblocking(true).unwrap();
    let port = inside.local_addr().unwrap().port();
    for host in ["127.0.0.1", "localhost"] {
        let config = ImapConfig::with_password(host, port, TlsMode::None, "anna", "pw");
        let imap = ImapConnector::with_reach(config, users_reach(&[])).unwrap();
        match imap.ensure_folder("CRM").await {
            Err(e @ ConnectorError::NotAllowed { .. }) => {
                let message = e.to_string();
                assert!(
                    message.contains("R-SEC-1") && message.contains("[security] allowed_hosts"),
                    "{host}: {message}"
                );
                assert!(!e.is_transient(), "{host}: a refusal is permanent, not retried");
            }
            other => panic!("{host}: expected NotAllowed, got {other:?}"),
        }
    }
    // A connection made would be waiting in the backlog by now.
    match inside.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the internal server was contacted: {other:?}"),
    }
}

// R-SEC-1: the operator's allow-list lets a user's profile reach the host.
#[tokio::test]
async fn r_sec_1_an_allowed_host_is_reached() {
    let dovecot = Dovecot::start(&[("anna", "anna-pw")]);
    let config = ImapConfig::with_password("127.0.0.1", dovecot.port, TlsMode::None, "anna", "anna-pw");
    let imap = ImapConnector::with_reach(config, users_reach(&["127.0.0.1"])).unwrap();
    imap.ensure_folder("CRM").await.expect("an allowed host is reached");
    let poll = imap.poll("CRM", None).await.expect("and read");
    assert!(poll.full && poll.changed.is_empty(), "a new, empty folder: {poll:?}");
    imap.close().await;
}
