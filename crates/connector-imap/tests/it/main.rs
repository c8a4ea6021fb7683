//! The IMAP connector against a private Dovecot: one test binary for the crate.

mod reach;
mod tls;
