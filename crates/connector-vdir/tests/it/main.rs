//! The connector-vdir crate's integration tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name.

mod common;

mod atomicity;
mod bad_input;
mod conformance;
mod discovery;
mod external_edits;
mod khard;
mod paged_listing;
