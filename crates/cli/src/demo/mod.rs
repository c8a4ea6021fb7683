//! The demo: a sample CRM and its users' vdir mailboxes, for a newcomer to
//! sync and poke at.

pub mod sample;
