//! The engine crate's integration tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name.

mod common;

mod allocations;
mod deletion_matrix;
mod plan_format;
mod properties;
mod rule_cases;
