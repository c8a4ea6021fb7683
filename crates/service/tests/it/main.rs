//! The service layer's tests (profiles, scheduler, workers), one test binary
//! (one link on two cores instead of one per file); each module was a test
//! file of its own and keeps its name.

#[macro_use]
mod common;

mod capacity;
mod failing_server;
mod hardening;
mod mail_push;
mod manual_runs;
mod participant_status;
mod profile_api;
mod profiles;
mod push_latency;
mod push_wake;
mod run_expiry;
mod scheduling;
mod sign_ins;
mod workers;
