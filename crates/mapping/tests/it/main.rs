//! The mapping crate's integration tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name.

mod common;

mod crm_fields;
mod fuzz_regressions;
mod graph_mapping;
mod graph_occurrences;
mod ical_corpus;
mod ical_recurrence;
mod ical_scheduling;
mod malformed;
mod normalisation;
mod notes;
mod proptest_roundtrip;
mod vcard_corpus;
mod vtodo_kinds;
