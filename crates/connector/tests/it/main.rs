//! The connector crate's integration tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name.

mod forward;
mod memory_conformance;
mod memory_faults;
