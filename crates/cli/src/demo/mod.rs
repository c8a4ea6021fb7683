//! The demo: a sample CRM and its users' vdir mailboxes, for a newcomer to
//! sync and poke at, and alice's e-mail tracked from a private Dovecot when
//! the machine has one.

mod dovecot;
pub mod mail;
pub mod sample;
