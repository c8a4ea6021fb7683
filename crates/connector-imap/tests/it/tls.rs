//! R-TRACK-MAIL-12: TLS against a real Dovecot with a certificate of a
//! throw-away CA. With the CA in `ca_file`, `tls = "tls"` (IMAPS) and
//! `tls = "starttls"` log in and list; without it the certificate is
//! refused with an error that is not worth retrying and says what to set.

use crmsync_connector::{ConnectorError, MailSource};
use crmsync_imap::{ImapConfig, ImapConnector, TlsMode};
use crmsync_testkit::Dovecot;

fn config(dovecot: &Dovecot, tls: TlsMode, ca: bool) -> ImapConfig {
    let port = match tls {
        TlsMode::Tls => dovecot.tls_port.expect("an IMAPS port"),
        _ => dovecot.port,
    };
    let mut c = ImapConfig::with_password("127.0.0.1", port, tls, "alice", "alice-pw");
    c.ca_file = ca.then(|| dovecot.ca_file());
    c
}

// R-TRACK-MAIL-12
#[tokio::test]
async fn r_track_mail_12_tls_and_starttls_reach_a_server_whose_ca_is_in_ca_file() {
    let dovecot = Dovecot::start_tls(&[("alice", "alice-pw")]);
    for tls in [TlsMode::Tls, TlsMode::Starttls] {
        let imap = ImapConnector::new(config(&dovecot, tls, true)).unwrap();
        let poll = imap
            .poll("INBOX", None)
            .await
            .unwrap_or_else(|e| panic!("{tls:?}: {e}\n{}", dovecot.log()));
        assert!(poll.full, "{tls:?}: a first listing");
        assert!(
            imap.commands_sent() >= 3,
            "{tls:?}: logged in, asked for capabilities and selected"
        );
        imap.close().await;
    }
}

// R-TRACK-MAIL-12
#[tokio::test]
async fn r_track_mail_12_an_untrusted_certificate_is_a_clear_error_not_worth_retrying() {
    let dovecot = Dovecot::start_tls(&[("alice", "alice-pw")]);
    for tls in [TlsMode::Tls, TlsMode::Starttls] {
        let imap = ImapConnector::new(config(&dovecot, tls, false)).unwrap();
        match imap.poll("INBOX", None).await {
            Err(e @ ConnectorError::Forbidden { .. }) => {
                let message = e.to_string();
                assert!(!e.is_transient(), "{tls:?}: waiting does not fix a certificate");
                assert!(
                    message.contains("certificate") && message.contains("ca_file"),
                    "{tls:?}: says what is wrong and what to set: {message}"
                );
            }
            other => panic!("{tls:?}: expected the certificate refused, got {other:?}"),
        }
    }
    // A CA file that holds no certificate is a setting to fix, too.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let mut c = config(&dovecot, TlsMode::Tls, true);
    c.ca_file = Some(empty.path().to_path_buf());
    let imap = ImapConnector::new(c).unwrap();
    match imap.poll("INBOX", None).await {
        Err(e @ ConnectorError::Forbidden { .. }) => {
            assert!(!e.is_transient());
            assert!(e.to_string().contains("ca_file"), "{e}");
        }
        other => panic!("expected the empty CA file refused, got {other:?}"),
    }
}

// R-TRACK-MAIL-12: no TLS is no place for a CA file.
#[test]
fn r_track_mail_12_ca_file_without_tls_is_refused_naming_the_key() {
    let mut c = ImapConfig::with_password("127.0.0.1", 143, TlsMode::None, "alice", "pw");
    c.ca_file = Some("ca.pem".into());
    assert!(c.validate().unwrap_err().to_string().contains("ca_file"));
    c.tls = TlsMode::Starttls;
    c.validate().unwrap();
}
