//! crmsync-imap: e-mail tracking from an IMAP mailbox (RFC 9051/3501) as a
//! [`crmsync_connector::MailSource`]. Mail is only read, apart from the
//! keyword that shows a message is tracked (R-TRACK-9); CONDSTORE (RFC 7162)
//! keeps a poll of an unchanged folder to one command.

mod config;
mod connector;
mod error;
mod flag_view;
mod headers;
mod session;
mod uid_set;
mod watch;

pub use config::{ImapConfig, TlsMode};
pub use connector::ImapConnector;
pub use error::ImapError;
pub use watch::{ImapWatcher, Wake};
