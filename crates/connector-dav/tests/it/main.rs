//! The connector-dav crate's integration tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name.

#[macro_use]
mod common;

mod kept_discovery;
mod radicale;
mod reach;
mod retries;
mod xandikos;
