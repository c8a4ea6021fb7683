//! The connector-graph crate's integration tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name.

mod common;

mod batch;
mod batched_creates;
mod certificate;
mod conformance;
mod delegated;
mod delta_and_faults;
mod mail;
mod reach;
mod series;
mod subscriptions;
